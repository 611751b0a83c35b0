import { randomBytes } from 'node:crypto';
import type { FakeWeChatServer } from './fake-wechat/index.js';
import {
  encryptForUserKey,
  encryptOpenData,
  signRawData,
  type WxEncryptedFixture,
} from './open-data-fixtures.js';

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

/**
 * Where {@link MiniProgramClient.getGroupEnterInfo} says the mini program was opened: a group
 * (default) or, with `openSingleRoomid`, a one-to-one chat.
 *
 * @public
 */
export interface MiniProgramChat {
  opengid?: string;
  openSingleRoomid?: string;
  groupOpenid?: string;
  /** Default 3 (a WeChat group), or 1 for a one-to-one chat. */
  chatType?: number;
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

  // ---- The less common payloads (issue 12) ----

  /**
   * `wx.getGroupEnterInfo` (and the chat tool's `wx.getChatToolInfo`, same shape): where the mini
   * program was opened from. WeChat's field order and its `""` for ids that do not apply.
   */
  getGroupEnterInfo(chat: MiniProgramChat = {}): WxEncryptedFixture {
    const single = chat.openSingleRoomid !== undefined;
    const payload = {
      opengid: single ? '' : (chat.opengid ?? 'tG_OPENGID_0001'),
      open_single_roomid: chat.openSingleRoomid ?? '',
      group_openid: chat.groupOpenid ?? `g${this.openid.slice(1)}`,
      chat_type: chat.chatType ?? (single ? 1 : 3),
      watermark: this.watermark(),
    };
    return encryptOpenData(payload, this.sessionKey());
  }

  /** `wx.getChatToolInfo`: the same payload as {@link getGroupEnterInfo}. */
  getChatToolInfo(chat: MiniProgramChat = {}): WxEncryptedFixture {
    return this.getGroupEnterInfo(chat);
  }

  /**
   * `wx.authPrivateMessage` for a card carrying `activityId`: `{ valid, encryptedData, iv }` in
   * the shape `WxPrivateMessageInfo` assumes. `valid` is what the client claims; `valid: false`
   * is what WeChat answers a recipient who is not legitimate, still with the data.
   */
  authPrivateMessage(activityId: string, valid = true): WxEncryptedFixture & { valid: boolean } {
    return { valid, ...encryptOpenData({ activityId, watermark: this.watermark() }, this.sessionKey()) };
  }

  /**
   * `wx.getUserInteractiveStorage({ keyList })`: the values setUserInteractiveData stored at the
   * fake, under `kv_list` (the wrapper `WxUserInteractiveStorage` assumes).
   */
  getUserInteractiveStorage(keyList?: readonly string[]): WxEncryptedFixture {
    const stored = this.wechat.interactiveData(this.openid, this.appId);
    const keys = keyList ?? [...stored.keys()];
    const kv_list = keys.filter((key) => stored.has(key)).map((key) => ({ key, value: stored.get(key) }));
    return encryptOpenData({ kv_list, watermark: this.watermark() }, this.sessionKey());
  }

  /** `wx.getGameClubData`: `{ dataList }` with the given values (default: joined an hour ago). */
  getGameClubData(
    dataList: readonly { dataType: number; value: number; subKey?: string }[] = [
      { dataType: 1, value: Math.floor(this.now() / 1000) - 3600 },
    ],
  ): WxEncryptedFixture {
    return encryptOpenData({ dataList, watermark: this.watermark() }, this.sessionKey());
  }

  /** `wx.pluginLogin`: a single-use code for getpluginopenpid. */
  pluginLogin(): string {
    return this.wechat.issuePluginCode(this.openid, this.appId);
  }

  /**
   * `wx.getUserCryptoManager().getLatestUserKey()`: `{ encryptKey, iv, version, expireTime }`
   * (`expireTime` in seconds since the epoch; WeChat does not document its unit).
   */
  getLatestUserKey(): { encryptKey: string; iv: string; version: number; expireTime: number } {
    const key = this.wechat.latestUserEncryptKey(this.openid, this.appId);
    return {
      encryptKey: key.encryptKey,
      iv: key.iv,
      version: key.version,
      expireTime: Math.floor(key.expiresAt / 1000),
    };
  }

  /**
   * A request body for the encrypted channel (`@WxUserEncrypted()`): `payload` encrypted with the
   * user's latest encrypt key, as `{ version, ciphertext }`.
   */
  encryptForServer(payload: object): { version: number; ciphertext: string } {
    return encryptForUserKey(payload, this.getLatestUserKey());
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
