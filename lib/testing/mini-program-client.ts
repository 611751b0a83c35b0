import { randomBytes } from 'node:crypto';
import type { FakeWeChatServer } from './fake-wechat/index.js';
import { encryptOpenData, signRawData, type WxEncryptedFixture } from './open-data-fixtures.js';

/**
 * What `wx.getUserInfo` hands the mini program: the signed plain part and the encrypted whole.
 *
 * @public
 */
export interface WxSignedUserInfo extends WxEncryptedFixture {
  rawData: string;
  signature: string;
}

/**
 * The visible profile fields of a simulated user.
 *
 * @public
 */
export interface MiniProgramProfile {
  nickName: string;
  gender: 0 | 1 | 2;
  language: string;
  city: string;
  province: string;
  country: string;
  avatarUrl: string;
}

/**
 * Settings of {@link MiniProgramClient}.
 *
 * @public
 */
export interface MiniProgramClientOptions {
  /** The mini program; default the fake's first app. It must be one the fake serves. */
  appId: string;
  /** The user; default a new random openid. */
  openid?: string;
  /** The user's unionid, for apps bound to an Open Platform account. */
  unionid?: string;
  /** Profile fields to use instead of the defaults. */
  profile?: Partial<MiniProgramProfile>;
  /**
   * Leave `openId`/`unionId` out of decrypted user info, as WeChat has done since 2022 for most
   * apps. Default `false`.
   */
  anonymous?: boolean;
  /** The clock of the watermarks, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

const DEFAULT_PROFILE: MiniProgramProfile = {
  nickName: '微信用户',
  gender: 0,
  language: 'zh_CN',
  city: '',
  province: '',
  country: '',
  avatarUrl:
    'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132',
};

/**
 * Plays a mini program user against a {@link FakeWeChatServer}: `wx.login` codes, and open data
 * signed and encrypted exactly as WeChat makes it, under the key WeChat currently holds for the
 * user and with a watermark naming the app. For tests of apps built on this library.
 *
 * ```ts
 * const user = new MiniProgramClient(wechat, { appId });
 * const { token } = (await request(app).post('/auth/login').send({ code: user.login() })).body;
 * await request(app).post('/me/profile').set('Authorization', `Bearer ${token}`).send(user.getUserInfo());
 * ```
 *
 * @public
 */
export class MiniProgramClient {
  /** The user's openid within the app. */
  readonly openid: string;
  readonly unionid: string | undefined;
  readonly appId: string;
  private readonly profile: MiniProgramProfile;
  private readonly anonymous: boolean;
  private readonly now: () => number;

  constructor(
    private readonly wechat: FakeWeChatServer,
    options: MiniProgramClientOptions,
  ) {
    this.appId = options.appId;
    this.openid = options.openid ?? `o${randomBytes(21).toString('base64url')}`;
    this.unionid = options.unionid;
    this.profile = { ...DEFAULT_PROFILE, ...options.profile };
    this.anonymous = options.anonymous ?? false;
    this.now = options.now ?? Date.now;
  }

  /** `wx.login`: a fresh single-use code for this user. The key rotates when the code is redeemed. */
  login(): string {
    const user =
      this.unionid === undefined ? { openid: this.openid } : { openid: this.openid, unionid: this.unionid };
    return this.wechat.issueCode(user, this.appId);
  }

  /** `wx.getUserInfo`: `{ rawData, signature, encryptedData, iv }`. */
  getUserInfo(): WxSignedUserInfo {
    const key = this.sessionKey();
    const rawData = JSON.stringify(this.profile);
    const identity = this.anonymous
      ? {}
      : { openId: this.openid, ...(this.unionid && { unionId: this.unionid }) };
    // WeChat puts openId first, so the first cipher block holds it.
    const payload = { ...identity, ...this.profile, watermark: this.watermark() };
    return { rawData, signature: signRawData(rawData, key), ...encryptOpenData(payload, key) };
  }

  /** The `getPhoneNumber` button, old flow: `{ encryptedData, iv }`. */
  getPhoneNumber(phoneNumber = '13800138000', countryCode: string | number = '86'): WxEncryptedFixture {
    const payload = { phoneNumber, purePhoneNumber: phoneNumber, countryCode, watermark: this.watermark() };
    const envelope = encryptOpenData(payload, this.sessionKey());
    // WeChat made it: checkencryptedmsg confirms it for 3 days.
    this.wechat.recordEncryptedData(envelope.encryptedData, this.appId);
    return envelope;
  }

  /** The `getPhoneNumber` button, current flow: a code for getuserphonenumber. */
  getPhoneNumberCode(phoneNumber = '13800138000', countryCode: string | number = '86'): string {
    return this.wechat.issuePhoneCode({ openid: this.openid, phoneNumber, countryCode }, this.appId);
  }

  /** `wx.getWeRunData`: the last `days` days of steps, newest first. */
  getWeRunData(days = 31): WxEncryptedFixture {
    const midnight = Math.floor(this.now() / 86_400_000) * 86_400;
    const stepInfoList = Array.from({ length: days }, (_, day) => ({
      timestamp: midnight - day * 86_400,
      step: 4000 + ((day * 997) % 9000),
    }));
    return encryptOpenData({ stepInfoList, watermark: this.watermark() }, this.sessionKey());
  }

  /** `wx.getShareInfo` for a group chat. */
  getShareInfo(openGId = 'tGz3Xp4ZuyxYOVkPQeSlAe0WBaj4'): WxEncryptedFixture {
    return encryptOpenData({ openGId, watermark: this.watermark() }, this.sessionKey());
  }

  /** The key WeChat holds for this user now; throws before the first redeemed login. */
  sessionKey(): string {
    const key = this.wechat.currentSessionKey(this.openid, this.appId);
    if (key === undefined) throw new Error(`MiniProgramClient: ${this.openid} has not logged in yet`);
    return key;
  }

  private watermark(): { appid: string; timestamp: number } {
    return { appid: this.appId, timestamp: Math.floor(this.now() / 1000) };
  }
}
