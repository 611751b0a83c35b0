import { createHash, randomBytes, randomInt } from 'node:crypto';
import { errorAnswer, fakeError, jsonAnswer, type FakeAnswer } from './fake-wechat-answers.js';
import type { FakeWeChatUser } from './fake-wechat-model.js';

/**
 * A payment the fake remembers for getpaidunionid.
 *
 * @public
 */
export interface FakePaymentSpec {
  openid: string;
  /** WeChat Pay's transaction id; default a random one. */
  transactionId?: string;
  mchId?: string;
  outTradeNo?: string;
}

/**
 * One of a user's encrypt keys, as `wx.getUserCryptoManager().getLatestUserKey()` hands it out.
 *
 * @public
 */
export interface FakeUserEncryptKey {
  readonly encryptKey: string;
  readonly iv: string;
  readonly version: number;
  /** When the key stops working, in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly createdAt: number;
}

type Params = Readonly<Record<string, unknown>>;

/** What the fake needs from its model. */
export interface FakeMoreApisContext {
  readonly now: () => number;
  readonly codeTtlMs: number;
  checkAccessToken(value: unknown): { appId: string } | { answer: FakeAnswer };
  checkSignedUserRequest(query: Params, message: string): { user: FakeWeChatUser } | { answer: FakeAnswer };
  findUser(openid: string, appId: string): FakeWeChatUser | undefined;
}

/** How long WeChat accepts checkencryptedmsg for generated data. */
const ENCRYPTED_DATA_LIFE_MS = 3 * 86_400_000;
/** Each user encrypt key lives an hour; getuserencryptkey lists the last three. */
const ENCRYPT_KEY_LIFE_MS = 3_600_000;
const ENCRYPT_KEYS_LISTED = 3;
const ACTIVITY_LIFE_SECONDS = 86_400;
const HASH = /^[0-9a-f]{64}$/;
const INTERACTIVE_KEY = /^(?:[1-9]|[1-4][0-9]|50)$/;

/**
 * The less common endpoints of the fake (issue 12): checkencryptedmsg, getuserencryptkey, the
 * mini-game storage writes, getpaidunionid, getpluginopenpid, getuserriskrank and
 * activityid/create, with their state. Each answers in WeChat's shapes and errcodes.
 *
 * @internal
 */
export class FakeWeChatMoreApis {
  private readonly encryptedData = new Map<string, { appId: string; createdAt: number }>();
  private readonly encryptKeys = new Map<string, FakeUserEncryptKey[]>();
  private readonly storage = new Map<string, Map<string, string>>();
  private readonly interactive = new Map<string, Map<string, number>>();
  private readonly payments: (FakePaymentSpec & { appId: string; paidAt: number; transactionId: string })[] =
    [];
  private readonly pluginCodes = new Map<
    string,
    { appId: string; openid: string; issuedAt: number; used: boolean }
  >();
  private readonly riskRanks = new Map<string, number>();
  private readonly activities = new Map<string, { appId: string; openid?: string; unionid?: string }>();

  constructor(private readonly context: FakeMoreApisContext) {}

  recordEncryptedData(encryptedData: string, appId: string): void {
    this.encryptedData.set(sha256Hex(encryptedData), { appId, createdAt: this.context.now() });
  }

  latestUserEncryptKey(openid: string, appId: string): FakeUserEncryptKey {
    const key = userKey(appId, openid);
    const list = this.encryptKeys.get(key) ?? [];
    const now = this.context.now();
    const newest = list[0];
    if (newest !== undefined && newest.expiresAt > now) return newest;
    const fresh: FakeUserEncryptKey = {
      encryptKey: randomBytes(16).toString('base64'),
      iv: randomBytes(8).toString('hex'),
      version: (newest?.version ?? 0) + 1,
      createdAt: now,
      expiresAt: now + ENCRYPT_KEY_LIFE_MS,
    };
    this.encryptKeys.set(key, [fresh, ...list].slice(0, ENCRYPT_KEYS_LISTED));
    return fresh;
  }

  userStorage(openid: string, appId: string): ReadonlyMap<string, string> {
    return new Map(this.storage.get(userKey(appId, openid)));
  }

  interactiveData(openid: string, appId: string): ReadonlyMap<string, number> {
    return new Map(this.interactive.get(userKey(appId, openid)));
  }

  recordPayment(spec: FakePaymentSpec, appId: string): string {
    const transactionId = spec.transactionId ?? `42000${randomInt(10 ** 9, 10 ** 10 - 1)}`;
    this.payments.push({ ...spec, transactionId, appId, paidAt: this.context.now() });
    return transactionId;
  }

  issuePluginCode(openid: string, appId: string): string {
    const code = randomBytes(24).toString('base64url');
    this.pluginCodes.set(code, { appId, openid, issuedAt: this.context.now(), used: false });
    return code;
  }

  setRiskRank(openid: string, appId: string, rank: number): void {
    this.riskRanks.set(userKey(appId, openid), rank);
  }

  findActivity(activityId: string): { appId: string; openid?: string; unionid?: string } | undefined {
    return this.activities.get(activityId);
  }

  /** POST /wxa/business/checkencryptedmsg */
  checkEncryptedMsg(query: Params, body: Params): FakeAnswer {
    const token = this.context.checkAccessToken(query['access_token']);
    if ('answer' in token) return token.answer;
    const hash = body['encrypted_msg_hash'];
    if (hash === undefined) return fakeError('dataFormat');
    if (typeof hash !== 'string' || !HASH.test(hash)) return fakeError('invalidArgs');
    const known = this.encryptedData.get(hash);
    if (known === undefined || known.appId !== token.appId) return fakeError('dataNotExist');
    if (this.context.now() - known.createdAt > ENCRYPTED_DATA_LIFE_MS) return fakeError('dataNotExist');
    return jsonAnswer({
      errcode: 0,
      errmsg: 'ok',
      vaild: true,
      create_time: Math.floor(known.createdAt / 1000),
    });
  }

  /** GET (or POST, as older pages show) /wxa/business/getuserencryptkey */
  getUserEncryptKey(query: Params): FakeAnswer {
    const checked = this.checkSigned(query, '');
    if ('answer' in checked) return checked.answer;
    const now = this.context.now();
    const list = this.encryptKeys.get(userKey(checked.user.appId, checked.user.openid)) ?? [];
    return jsonAnswer({
      errcode: 0,
      errmsg: 'ok',
      key_info_list: list.map((key) => ({
        encrypt_key: key.encryptKey,
        version: key.version,
        expire_in: Math.max(0, Math.floor((key.expiresAt - now) / 1000)),
        iv: key.iv,
        create_time: Math.floor(key.createdAt / 1000),
      })),
    });
  }

  /** POST /wxa/set_user_storage */
  setUserStorage(query: Params, body: Params, rawBody: string): FakeAnswer {
    const checked = this.checkSigned(query, rawBody);
    if ('answer' in checked) return checked.answer;
    const list = body['kv_list'];
    if (!Array.isArray(list)) return fakeError('dataFormat');
    const key = userKey(checked.user.appId, checked.user.openid);
    const next = new Map(this.storage.get(key));
    for (const entry of list as unknown[]) {
      const { key: k, value: v } = (entry ?? {}) as Record<string, unknown>;
      if (typeof k !== 'string' || typeof v !== 'string') return fakeError('dataFormat');
      if (Buffer.byteLength(k) > 128) return fakeError('keyTooLong');
      if (Buffer.byteLength(k) + Buffer.byteLength(v) > 1024) return fakeError('pairTooLong');
      next.set(k, v);
    }
    if (next.size > 128) return fakeError('tooManyPairs');
    this.storage.set(key, next);
    return jsonAnswer({ errcode: 0, errmsg: 'ok' });
  }

  /** POST /wxa/remove_user_storage */
  removeUserStorage(query: Params, body: Params, rawBody: string): FakeAnswer {
    const checked = this.checkSigned(query, rawBody);
    if ('answer' in checked) return checked.answer;
    const keys = body['key'];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) return fakeError('dataFormat');
    const stored = this.storage.get(userKey(checked.user.appId, checked.user.openid));
    for (const k of keys as string[]) stored?.delete(k);
    return jsonAnswer({ errcode: 0, errmsg: 'ok' });
  }

  /** POST /wxa/setuserinteractivedata */
  setUserInteractiveData(query: Params, body: Params, rawBody: string): FakeAnswer {
    const checked = this.checkSigned(query, rawBody);
    if ('answer' in checked) return checked.answer;
    const list = body['kv_list'];
    if (!Array.isArray(list)) return fakeError('dataFormat');
    const key = userKey(checked.user.appId, checked.user.openid);
    const next = new Map(this.interactive.get(key));
    for (const entry of list as unknown[]) {
      const { key: k, value: v } = (entry ?? {}) as Record<string, unknown>;
      if (typeof k !== 'string' || !INTERACTIVE_KEY.test(k)) return fakeError('invalidInteractiveKey');
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fakeError('dataFormat');
      next.set(k, v);
    }
    this.interactive.set(key, next);
    return jsonAnswer({ errcode: 0, errmsg: '' });
  }

  /** GET /wxa/getpaidunionid */
  getPaidUnionId(query: Params): FakeAnswer {
    const token = this.context.checkAccessToken(query['access_token']);
    if ('answer' in token) return token.answer;
    const openid = query['openid'];
    const user = typeof openid === 'string' ? this.context.findUser(openid, token.appId) : undefined;
    if (user === undefined) return fakeError('invalidOpenid');
    const now = this.context.now();
    const payment = this.payments.find(
      (p) =>
        p.appId === token.appId &&
        p.openid === user.openid &&
        now - p.paidAt < this.context.codeTtlMs &&
        (query['transaction_id'] !== undefined
          ? p.transactionId === query['transaction_id']
          : p.mchId !== undefined && p.mchId === query['mch_id'] && p.outTradeNo === query['out_trade_no']),
    );
    if (payment === undefined) return fakeError('invalidTrade');
    if (user.unionid === undefined) return fakeError('noOpenPlatform');
    return jsonAnswer({ unionid: user.unionid, errcode: 0, errmsg: 'ok' });
  }

  /** POST /wxa/getpluginopenpid */
  getPluginOpenPId(query: Params, body: Params): FakeAnswer {
    const token = this.context.checkAccessToken(query['access_token']);
    if ('answer' in token) return token.answer;
    const code = body['code'];
    if (typeof code !== 'string' || code === '') return errorAnswer(1001, 'invalid parameters');
    const login = this.pluginCodes.get(code);
    if (login === undefined || login.used || this.context.now() - login.issuedAt >= this.context.codeTtlMs) {
      return fakeError('noOpenpid');
    }
    if (login.appId !== token.appId) return errorAnswer(1005, 'appid not match');
    login.used = true;
    const openpid = createHash('sha256')
      .update(`${login.appId}\n${login.openid}`)
      .digest('base64url')
      .slice(0, 28);
    return jsonAnswer({ errcode: 0, errmsg: 'ok', openpid });
  }

  /** POST /wxa/getuserriskrank */
  getUserRiskRank(query: Params, body: Params): FakeAnswer {
    const token = this.context.checkAccessToken(query['access_token']);
    if ('answer' in token) return token.answer;
    const { appid, openid, scene, client_ip: clientIp, is_test: isTest } = body;
    if (typeof appid !== 'string' || typeof openid !== 'string' || typeof clientIp !== 'string') {
      return fakeError('dataFormat');
    }
    if (scene !== 0 && scene !== 1 && scene !== 2) return fakeError('dataFormat');
    if (appid !== token.appId) return errorAnswer(43104, 'appid not match');
    const user = this.context.findUser(openid, token.appId);
    if (user === undefined && isTest !== true) return fakeError('noRecentVisit');
    return jsonAnswer({
      errcode: 0,
      errmsg: 'getuserriskrank succ',
      risk_rank: this.riskRanks.get(userKey(token.appId, openid)) ?? 0,
      // Above 2^31, like WeChat's example: a client that decodes int32 breaks here.
      unoin_id: randomInt(2 ** 31, 2 ** 40),
    });
  }

  /** GET /cgi-bin/message/wxopen/activityid/create */
  createActivityId(query: Params): FakeAnswer {
    const token = this.context.checkAccessToken(query['access_token']);
    if ('answer' in token) return token.answer;
    const { openid, unionid } = query;
    if ((openid === undefined) === (unionid === undefined)) return fakeError('invalidArgs');
    const activityId = `${randomInt(1000, 9999)}_${randomBytes(18).toString('base64url')}`;
    this.activities.set(activityId, {
      appId: token.appId,
      ...(typeof openid === 'string' ? { openid } : {}),
      ...(typeof unionid === 'string' ? { unionid } : {}),
    });
    return jsonAnswer({
      activity_id: activityId,
      expiration_time: Math.floor(this.context.now() / 1000) + ACTIVITY_LIFE_SECONDS,
      errcode: 0,
      errmsg: 'ok',
    });
  }

  private checkSigned(query: Params, message: string): { user: FakeWeChatUser } | { answer: FakeAnswer } {
    return this.context.checkSignedUserRequest(query, message);
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function userKey(appId: string, openid: string): string {
  return `${appId}\n${openid}`;
}
