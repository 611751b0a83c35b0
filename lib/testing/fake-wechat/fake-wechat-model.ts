import { createHmac, randomBytes } from 'node:crypto';
import { createSessionKey } from '../open-data-fixtures.js';
import { fakeError, jsonAnswer, type FakeAnswer } from './fake-wechat-answers.js';
import type { FakeWeChatApiSecurity } from './fake-wechat-security.js';

/**
 * A mini program the fake knows.
 *
 * @public
 */
export interface FakeWeChatApp {
  appId: string;
  appSecret: string;
  /** Turns on the API security mode for this app: its protected calls must come encrypted and signed. */
  apiSecurity?: FakeWeChatApiSecurity;
}

/**
 * Who logs in with a code from {@link FakeWeChatServer.issueCode}. Omitted fields are made up;
 * an existing user keeps theirs.
 *
 * @public
 */
export interface FakeWeChatUserSpec {
  /** Default: a new user with a random openid. */
  openid?: string;
  /** Set (or replace) the user's unionid; default none, as for an app without Open Platform binding. */
  unionid?: string;
  /** The session key the login installs, used as is (even if malformed); default a fresh random one. */
  sessionKey?: string;
}

/**
 * A user of one mini program, as the fake stores them.
 *
 * @public
 */
export interface FakeWeChatUser {
  readonly appId: string;
  readonly openid: string;
  readonly unionid?: string;
  /** The one session key WeChat currently accepts for this user. */
  readonly sessionKey: string;
}

/**
 * The phone number a code from {@link FakeWeChatServer.issuePhoneCode} stands for.
 *
 * @public
 */
export interface FakePhoneNumberSpec {
  /** The user the code belongs to; a request naming another openid fails with 40003. */
  openid?: string;
  /** Default `13800138000`. */
  phoneNumber?: string;
  /** Default: `phoneNumber`. */
  purePhoneNumber?: string;
  /** Default `'86'`; a number reproduces the variant WeChat documents in an example. */
  countryCode?: string | number;
}

/**
 * Timing and limits of the fake.
 *
 * @internal
 */
export interface FakeWeChatModelSettings {
  readonly apps: readonly FakeWeChatApp[];
  readonly now: () => number;
  readonly codeTtlMs: number;
  readonly accessTokenTtlSeconds: number;
  readonly loginsPerMinute: number;
}

interface LoginCode {
  readonly appId: string;
  readonly openid: string;
  readonly sessionKey: string | undefined;
  readonly issuedAt: number;
  used: boolean;
}

interface PhoneCode {
  readonly appId: string;
  readonly openid: string | undefined;
  readonly phoneInfo: Readonly<Record<string, unknown>>;
  readonly issuedAt: number;
  used: boolean;
}

interface AccessToken {
  readonly appId: string;
  expiresAt: number;
  /** Set by expireAccessTokens(): WeChat then answers 40001, not 42001. */
  revoked: boolean;
}

/** How long a replaced access token keeps working, as WeChat documents. */
const REPLACED_TOKEN_GRACE_MS = 5 * 60_000;
const RATE_WINDOW_MS = 60_000;

/** The query or body parameters of a request. */
type Params = Readonly<Record<string, unknown>>;

/**
 * The state of the fake WeChat (apps, users, codes, access tokens) and what each endpoint
 * answers. No HTTP here: {@link FakeWeChatServer} parses requests and sends the answers.
 *
 * @internal
 */
export class FakeWeChatModel {
  private readonly apps: ReadonlyMap<string, FakeWeChatApp>;
  private readonly users = new Map<string, FakeWeChatUser>();
  private readonly loginCodes = new Map<string, LoginCode>();
  private readonly phoneCodes = new Map<string, PhoneCode>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly currentStableToken = new Map<string, string>();
  private readonly currentPlainToken = new Map<string, string>();
  private readonly recentLogins = new Map<string, number[]>();
  private forcedRefreshes = 0;

  constructor(private readonly settings: FakeWeChatModelSettings) {
    if (settings.apps.length === 0) throw new Error('FakeWeChatServer: configure at least one app');
    this.apps = new Map(settings.apps.map((app) => [app.appId, { ...app }]));
  }

  /** The app a helper call means: the given one, or the first configured. */
  resolveAppId(appId: string | undefined): string {
    const resolved = appId ?? this.settings.apps[0]?.appId;
    if (resolved === undefined || !this.apps.has(resolved)) {
      throw new Error(`FakeWeChatServer: unknown appId ${String(appId)}`);
    }
    return resolved;
  }

  issueCode(spec: FakeWeChatUserSpec, appId: string): string {
    const user = this.ensureUser(appId, spec.openid ?? newOpenid(), spec.unionid);
    const code = randomBytes(24).toString('base64url');
    this.loginCodes.set(code, {
      appId,
      openid: user.openid,
      sessionKey: spec.sessionKey,
      issuedAt: this.settings.now(),
      used: false,
    });
    return code;
  }

  issuePhoneCode(spec: FakePhoneNumberSpec, appId: string): string {
    const phoneNumber = spec.phoneNumber ?? '13800138000';
    const code = randomBytes(32).toString('hex');
    this.phoneCodes.set(code, {
      appId,
      openid: spec.openid,
      phoneInfo: {
        phoneNumber,
        purePhoneNumber: spec.purePhoneNumber ?? phoneNumber,
        countryCode: spec.countryCode ?? '86',
      },
      issuedAt: this.settings.now(),
      used: false,
    });
    return code;
  }

  findUser(openid: string, appId: string): FakeWeChatUser | undefined {
    return this.users.get(userKey(appId, openid));
  }

  /** Makes every access token issued so far invalid: using one answers 40001. */
  expireAccessTokens(): void {
    for (const token of this.accessTokens.values()) token.revoked = true;
  }

  /** The app an access token belongs to, or `undefined` for an unknown token. */
  appIdOfAccessToken(token: unknown): string | undefined {
    return typeof token === 'string' ? this.accessTokens.get(token)?.appId : undefined;
  }

  forcedRefreshCount(): number {
    return this.forcedRefreshes;
  }

  /** GET /sns/jscode2session */
  code2Session(query: Params): FakeAnswer {
    const appError = this.checkAppCredentials(query['appid'], query['secret']);
    if (appError !== undefined) return appError;
    if (query['grant_type'] !== 'authorization_code') return fakeError('invalidGrantType');
    const code = query['js_code'];
    if (typeof code !== 'string' || code === '') return fakeError('missingCode');
    const login = this.loginCodes.get(code);
    if (login === undefined || login.appId !== query['appid']) return fakeError('invalidCode');
    if (login.used) return fakeError('codeUsed');
    if (this.isExpired(login.issuedAt)) return fakeError('invalidCode');
    if (!this.allowLogin(userKey(login.appId, login.openid))) return fakeError('rateLimited');
    login.used = true;
    const user = this.replaceSessionKey(login.appId, login.openid, login.sessionKey ?? createSessionKey());
    return jsonAnswer({
      session_key: user.sessionKey,
      openid: user.openid,
      ...(user.unionid === undefined ? {} : { unionid: user.unionid }),
    });
  }

  /** GET /cgi-bin/token: a new token every time; the previous one lapses after a grace period. */
  plainAccessToken(query: Params): FakeAnswer {
    if (query['grant_type'] !== 'client_credential') return fakeError('invalidGrantType');
    const appError = this.checkAppCredentials(query['appid'], query['secret']);
    if (appError !== undefined) return appError;
    const appId = query['appid'] as string;
    const token = this.mintAccessToken(appId, this.currentPlainToken);
    return jsonAnswer({ access_token: token, expires_in: this.settings.accessTokenTtlSeconds });
  }

  /** POST /cgi-bin/stable_token: the same token while it is valid, unless a refresh is forced. */
  stableAccessToken(body: Params): FakeAnswer {
    if (body['grant_type'] !== 'client_credential') return fakeError('invalidGrantType');
    const appError = this.checkAppCredentials(body['appid'], body['secret']);
    if (appError !== undefined) return appError;
    const appId = body['appid'] as string;
    const forceRefresh = body['force_refresh'] === true;
    if (forceRefresh) this.forcedRefreshes += 1;
    const currentToken = this.currentStableToken.get(appId);
    const current = currentToken === undefined ? undefined : this.accessTokens.get(currentToken);
    const reusable = !forceRefresh && current !== undefined && this.tokenProblem(current) === undefined;
    const token = reusable ? (currentToken as string) : this.mintAccessToken(appId, this.currentStableToken);
    const expiresAt = (this.accessTokens.get(token) as AccessToken).expiresAt;
    return jsonAnswer({
      access_token: token,
      expires_in: Math.max(1, Math.floor((expiresAt - this.settings.now()) / 1000)),
    });
  }

  /** GET /wxa/checksession */
  checkSession(query: Params): FakeAnswer {
    const checked = this.checkSignedUserRequest(query);
    return 'answer' in checked ? checked.answer : jsonAnswer({ errcode: 0, errmsg: 'ok' });
  }

  /** GET /wxa/resetusersessionkey: a new key replaces the current one. */
  resetUserSessionKey(query: Params): FakeAnswer {
    const checked = this.checkSignedUserRequest(query);
    if ('answer' in checked) return checked.answer;
    const user = this.replaceSessionKey(checked.user.appId, checked.user.openid, createSessionKey());
    return jsonAnswer({ errcode: 0, errmsg: 'ok', openid: user.openid, session_key: user.sessionKey });
  }

  /** POST /wxa/business/getuserphonenumber */
  phoneNumber(query: Params, body: Params): FakeAnswer {
    const token = this.checkAccessToken(query['access_token']);
    if ('answer' in token) return token.answer;
    const code = body['code'];
    if (typeof code !== 'string' || code === '') return fakeError('missingCode');
    const phone = this.phoneCodes.get(code);
    if (phone === undefined || phone.appId !== token.appId) return fakeError('invalidCode');
    if (phone.used) return fakeError('codeUsed');
    if (this.isExpired(phone.issuedAt)) return fakeError('invalidCode');
    const openid = body['openid'];
    if (openid !== undefined && (phone.openid === undefined || openid !== phone.openid)) {
      return fakeError('invalidOpenid');
    }
    phone.used = true;
    return jsonAnswer({
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        ...phone.phoneInfo,
        watermark: { timestamp: Math.floor(this.settings.now() / 1000), appid: phone.appId },
      },
    });
  }

  private checkAppCredentials(appId: unknown, secret: unknown): FakeAnswer | undefined {
    const app = typeof appId === 'string' ? this.apps.get(appId) : undefined;
    if (app === undefined) return fakeError('invalidAppid');
    if (secret !== app.appSecret) return fakeError('invalidAppSecret');
    return undefined;
  }

  /** @internal The access-token check every endpoint starts with. */
  checkAccessToken(value: unknown): { appId: string } | { answer: FakeAnswer } {
    if (typeof value !== 'string' || value === '') return { answer: fakeError('missingAccessToken') };
    const token = this.accessTokens.get(value);
    if (token === undefined) return { answer: fakeError('invalidCredential') };
    const problem = this.tokenProblem(token);
    return problem === undefined ? { appId: token.appId } : { answer: problem };
  }

  private tokenProblem(token: AccessToken): FakeAnswer | undefined {
    if (token.revoked) return fakeError('invalidCredential');
    if (this.settings.now() >= token.expiresAt) return fakeError('accessTokenExpired');
    return undefined;
  }

  /**
   * The checks of every login-state-signed request, in WeChat's order: token, user, sig_method,
   * and the signature over `message` (`""` for GET, else the exact POST body).
   *
   * @internal
   */
  checkSignedUserRequest(query: Params, message = ''): { user: FakeWeChatUser } | { answer: FakeAnswer } {
    const token = this.checkAccessToken(query['access_token']);
    if ('answer' in token) return token;
    const openid = query['openid'];
    const user = typeof openid === 'string' ? this.findUser(openid, token.appId) : undefined;
    if (user === undefined) return { answer: fakeError('invalidOpenid') };
    if (query['sig_method'] !== 'hmac_sha256') return { answer: fakeError('invalidSigMethod') };
    // Computed here rather than with the library's helper, so a bug there cannot hide in both.
    const expected = createHmac('sha256', Buffer.from(user.sessionKey, 'utf8'))
      .update(message, 'utf8')
      .digest('hex');
    if (query['signature'] !== expected) return { answer: fakeError('invalidSignature') };
    return { user };
  }

  private ensureUser(appId: string, openid: string, unionid: string | undefined): FakeWeChatUser {
    const key = userKey(appId, openid);
    const existing = this.users.get(key);
    const user: FakeWeChatUser = {
      appId,
      openid,
      sessionKey: existing?.sessionKey ?? createSessionKey(),
      ...((unionid ?? existing?.unionid) === undefined ? {} : { unionid: unionid ?? existing?.unionid }),
    };
    this.users.set(key, user);
    return user;
  }

  private replaceSessionKey(appId: string, openid: string, sessionKey: string): FakeWeChatUser {
    const key = userKey(appId, openid);
    const user = { ...(this.users.get(key) as FakeWeChatUser), sessionKey };
    this.users.set(key, user);
    return user;
  }

  private mintAccessToken(appId: string, current: Map<string, string>): string {
    const now = this.settings.now();
    const previous = current.get(appId);
    const previousToken = previous === undefined ? undefined : this.accessTokens.get(previous);
    if (previousToken !== undefined) {
      previousToken.expiresAt = Math.min(previousToken.expiresAt, now + REPLACED_TOKEN_GRACE_MS);
    }
    const token = randomBytes(64).toString('base64url');
    this.accessTokens.set(token, {
      appId,
      expiresAt: now + this.settings.accessTokenTtlSeconds * 1000,
      revoked: false,
    });
    current.set(appId, token);
    return token;
  }

  private isExpired(issuedAt: number): boolean {
    return this.settings.now() - issuedAt >= this.settings.codeTtlMs;
  }

  /** WeChat's per-user login limit, over a sliding minute. */
  private allowLogin(key: string): boolean {
    const now = this.settings.now();
    const recent = (this.recentLogins.get(key) ?? []).filter((at) => now - at < RATE_WINDOW_MS);
    if (recent.length >= this.settings.loginsPerMinute) {
      this.recentLogins.set(key, recent);
      return false;
    }
    recent.push(now);
    this.recentLogins.set(key, recent);
    return true;
  }
}

function userKey(appId: string, openid: string): string {
  return `${appId}\n${openid}`;
}

/** 28 characters starting with `o`, like WeChat's openids. */
function newOpenid(): string {
  return `o${randomBytes(21).toString('base64url').slice(0, 27)}`;
}
