import { Inject, Injectable, Logger } from '@nestjs/common';
import { wxCallOutcome } from '../api/call-outcome.js';
import type { WxTelemetry } from '../observability/index.js';
import {
  forgetSessionKey,
  WxMalformedPayloadError,
  WxOpenDataError,
  WxSessionNotFoundError,
  type WxEncryptedEnvelope,
} from '../core/index.js';
import {
  createSessionToken,
  isSessionToken,
  keyBudgetId,
  openDataFingerprint,
  WxKeyAttemptsBusyError,
  WxReplayedPayloadError,
  WxLoginCodes,
  WxSessionStore,
  WxSessionStoreUnavailableError,
  wxUserId,
  type WxActiveSession,
  type WxSessionRecord,
  type WxUserKeys,
} from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { userRefOf } from './log-context.js';
import type { WxResolvedIdentity } from './options.js';
import { WX_MEASURED_STORE, WX_TELEMETRY } from './telemetry.provider.js';
import { WxApiClients } from './wx-api-clients.js';

/**
 * Options of {@link WxSessionService.login}.
 *
 * @public
 */
export interface WxLoginOptions {
  /** The mini program the code is from; default the first configured one. */
  appId?: string;
  /**
   * `false`: store the user's key but mint no session token, for apps that sign their own
   * (a JWT) and find the user with `resolveIdentity`. Default `true`.
   */
  issueToken?: boolean;
}

/**
 * Who logged in, when no token was minted (`issueToken: false`): sign your own token with it.
 *
 * @public
 */
export interface WxLoginIdentity {
  openid: string;
  unionid?: string;
}

/** WeChat's login codes are 32 characters; anything far longer or with odd characters is refused unsent. */
const LOGIN_CODE = /^[\x21-\x7e]{1,128}$/;

/**
 * What opening a session needs: who the user is, for which mini program, and their key.
 *
 * @public
 */
export interface WxNewSession {
  openid: string;
  unionid?: string;
  /** Default: the first configured mini program. */
  appId?: string;
  /** Base64 of the 16-byte key, as code2Session returned it. */
  sessionKey: string;
}

/**
 * What a login hands back to the client: never the session key.
 *
 * @public
 */
export interface WxLoginResult {
  /** The opaque session token, for `Authorization: Bearer <token>`. */
  token: string;
  openid: string;
  unionid?: string;
}

/**
 * A key attempt taken by {@link WxSessionService.takeKeyAttempt}, to settle.
 *
 * @public
 */
export interface WxKeyAttemptTicket {
  readonly budgetId: string;
  readonly session: WxActiveSession;
  /** The caller's session token, if any: deleted with the keys when the budget is spent. */
  readonly token: string | undefined;
  /** Whether the budget counts it (`maxKeyFailures` not `false`). */
  readonly counted: boolean;
  /**
   * What the service's log lines about this attempt name: the call, its request id and the user
   * reference (the guard passes it). Without it, the lines name the user reference alone.
   */
  readonly logWhere?: () => string;
}

/**
 * With `checkSessionKeyOnFailure`, WeChat is asked about one key at most once in this many
 * seconds, across every instance sharing the store.
 *
 * @public
 */
export const CHECK_SESSION_KEY_WINDOW_SECONDS = 600;

/** Compare-and-set rounds before giving up on a user's keys under heavy contention. */
const MAX_KEY_WRITE_ATTEMPTS = 16;

/**
 * Logs users in with `wx.login` codes and keeps their sessions: tokens in, session keys never out.
 *
 * WeChat holds one valid session key per user, and a new `wx.login` rotates it. So keys are kept
 * per user, not per token: a login replaces the user's key for all their sessions, and the key it
 * replaced keeps decrypting for `keyRotationGraceSeconds`, for data fetched just before the new
 * `wx.login`. Keys carry a version taken from the store's clock when code2Session answered (with
 * Redis, Redis's own clock, so instances with skewed clocks agree); a key is only ever replaced
 * by a newer one, so racing logins of one user cannot leave the older key in the store.
 *
 * @public
 */
@Injectable()
export class WxSessionService {
  private readonly logger = new Logger('WxOpenData');
  private lastVersion = 0;
  private readonly loginCodes: WxLoginCodes;

  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) private readonly config: WxOpenDataConfig,
    @Inject(WX_MEASURED_STORE) private readonly store: WxSessionStore,
    private readonly clients: WxApiClients,
    @Inject(WX_TELEMETRY) private readonly telemetry: WxTelemetry,
  ) {
    // A claim outlives the holder's code2Session budget; a duplicate waits as long as that call may take.
    this.loginCodes = new WxLoginCodes(store, {
      claimTtlSeconds: config.apiTimeoutMs / 1000 + 5,
      waitBudgetMs: config.apiTimeoutMs + 1000,
    });
  }

  /**
   * Exchanges a `wx.login` code (code2Session) and opens a session for the user.
   *
   * The same code twice (a page firing two requests, a retry after a timeout, two instances) makes
   * one code2Session call: the duplicates get sessions of their own for the same user, for the
   * code's 5-minute life. A 40163 with no remembered redemption means the code was used and its
   * result lost: the client must call `wx.login` again.
   *
   * @param code - the code the mini program got from `wx.login`; single use, valid 5 minutes
   * @param options - the mini program the code is from (its AppID, or `{ appId }`; default the
   *   first configured one), and `issueToken: false` to store the user's key without minting a
   *   session token (then it returns `{ openid, unionid? }`)
   * @throws {@link WxMalformedPayloadError} (400) when `code` is missing, empty or not a string,
   *   or `appId` is not a mini program this module serves, without asking WeChat;
   *   {@link WxApiError} when WeChat refuses the code (40029 invalid, 40163 used, 45011
   *   rate limit, 40226 blocked user), {@link WxApiUnavailableError} or {@link WxApiTimeoutError}
   *   when WeChat cannot be reached in time
   */
  async login(code: unknown, options: WxLoginOptions & { issueToken: false }): Promise<WxLoginIdentity>;
  async login(code: unknown, options?: string | WxLoginOptions): Promise<WxLoginResult>;
  async login(code: unknown, options?: string | WxLoginOptions): Promise<WxLoginResult | WxLoginIdentity> {
    const { appId = this.config.defaultAppId, issueToken = true } =
      typeof options === 'string' ? { appId: options } : (options ?? {});
    // Refused before WeChat is asked: a missing or odd code costs no call of WeChat's quota.
    if (typeof code !== 'string' || !LOGIN_CODE.test(code)) {
      throw new WxMalformedPayloadError('code', 'must be the code from wx.login');
    }
    this.requireServedApp(appId);
    try {
      const result = await this.exchangeCode(code, appId, issueToken);
      this.telemetry.login('ok');
      return result;
    } catch (error) {
      this.telemetry.login(
        error instanceof WxSessionStoreUnavailableError ? 'store-unavailable' : wxCallOutcome(error),
      );
      throw error;
    }
  }

  private async exchangeCode(
    code: string,
    appId: string,
    issueToken: boolean,
  ): Promise<WxLoginResult | WxLoginIdentity> {
    const client = this.clients.get(appId);
    // Duplicates of one code (concurrent, retried, on other instances) share one code2Session.
    const { login } = await this.loginCodes.redeem(appId, code, async () => {
      const answer = await client.code2Session(code);
      await this.storeUserKey(appId, answer.openid, answer.sessionKey);
      return answer.unionid === undefined
        ? { appId, openid: answer.openid }
        : { appId, openid: answer.openid, unionid: answer.unionid };
    });
    const { openid, unionid } = login;
    if (!issueToken) return unionid === undefined ? { openid } : { openid, unionid };
    const token = await this.openSession(appId, openid, unionid);
    return unionid === undefined ? { token, openid } : { token, openid, unionid };
  }

  /**
   * Stores the user's key (rotating it if it changed) and a session under a fresh token, and
   * returns the token. {@link login} uses it; call it directly when you ran code2Session yourself.
   */
  async create(session: WxNewSession): Promise<string> {
    const appId = session.appId ?? this.config.defaultAppId;
    this.requireServedApp(appId);
    await this.storeUserKey(appId, session.openid, session.sessionKey);
    return this.openSession(appId, session.openid, session.unionid);
  }

  /** A session record under a fresh token, for a user whose key is in the store. */
  private async openSession(appId: string, openid: string, unionid: string | undefined): Promise<string> {
    const record: WxSessionRecord = { openid, appId, createdAt: Date.now() };
    if (unionid !== undefined) record.unionid = unionid;
    const token = createSessionToken();
    await this.store.set(token, record, this.config.sessionTtlSeconds);
    return token;
  }

  /** Stores the user's key (rotating it if it changed) with a version from the store's clock. */
  private async storeUserKey(appId: string, openid: string, sessionKey: string): Promise<void> {
    const version = await this.nextVersion(wxUserId(appId, openid));
    await this.installKey(appId, openid, sessionKey, version);
  }

  /** A typed 400 naming the field, never the client's text (which may carry anything). */
  private requireServedApp(appId: unknown): asserts appId is string {
    if (typeof appId !== 'string' || !this.config.apps.has(appId)) {
      throw new WxMalformedPayloadError('appId', 'is not a mini program this server serves');
    }
  }

  /**
   * The app's own user (see `resolveIdentity`) with the keys that may decrypt their data: their
   * stored keys, as {@link login} with `issueToken: false` (or with a token) stored them.
   *
   * @throws {@link WxSessionNotFoundError} when the identity names no openid or a mini program
   *   not served, or the user has no stored key (never logged in with `wx.login`, or expired);
   *   {@link WxSessionStoreUnavailableError} when the store cannot be asked
   */
  async requireUser(identity: WxResolvedIdentity): Promise<WxActiveSession> {
    const { openid, unionid } = identity;
    const appId = identity.appId ?? this.config.defaultAppId;
    if (typeof openid !== 'string' || openid === '') {
      throw new WxSessionNotFoundError('resolveIdentity returned an identity without an openid');
    }
    if (!this.config.apps.has(appId)) {
      throw new WxSessionNotFoundError('resolveIdentity named a mini program this module does not serve');
    }
    const keys = await this.store.getUserKeys(wxUserId(appId, openid));
    if (keys === undefined)
      throw new WxSessionNotFoundError('no session key for this user: log in with wx.login');
    const record: WxSessionRecord = { openid, appId, createdAt: Math.floor(keys.version / 1000) };
    if (typeof unionid === 'string') record.unionid = unionid;
    return this.activate(record, keys);
  }

  private activate(record: WxSessionRecord, keys: WxUserKeys): WxActiveSession {
    const active: WxActiveSession = { ...record, sessionKey: keys.sessionKey };
    if (keys.previousSessionKey !== undefined) {
      if ((keys.previousKeyExpiresAt ?? 0) > Date.now()) active.previousSessionKey = keys.previousSessionKey;
      // Its grace is over: no payload may decrypt with it again, here or in the decipher cache.
      else forgetSessionKey(keys.previousSessionKey);
    }
    return active;
  }

  /**
   * The live session for `token`, with the keys that may decrypt its data.
   *
   * @throws {@link WxSessionNotFoundError} when the token is malformed, unknown or expired, the
   *   user's key is gone, or the session's mini program is no longer configured;
   *   {@link WxSessionStoreUnavailableError} when the store cannot be asked
   */
  async require(token: string | undefined): Promise<WxActiveSession> {
    // The reason is logged (never sent): it says exactly why the token was refused.
    if (token === undefined || token === '') throw new WxSessionNotFoundError('no token');
    if (!isSessionToken(token)) throw new WxSessionNotFoundError('malformed token');
    // One read for both: with Redis, one round trip per guarded request.
    const found = await this.store.getSessionWithKeys(token);
    if (found === undefined) throw new WxSessionNotFoundError('unknown or expired token');
    const { session: record, keys } = found;
    if (!this.config.apps.has(record.appId)) {
      throw new WxSessionNotFoundError('session belongs to a mini program no longer configured');
    }
    if (keys === undefined) throw new WxSessionNotFoundError('no session key for this user');
    return this.activate(record, keys);
  }

  /** Ends the session for `token` (logout); an unknown token is not an error. */
  async revoke(token: string): Promise<void> {
    if (isSessionToken(token)) await this.store.delete(token);
  }

  /**
   * Takes one evaluation of the session's current key from its budget (`maxKeyFailures`, per
   * user key: the same for every token and every login that keeps the key), atomically across
   * every instance, before the key is used. Settle the ticket with {@link settleKeyAttempt}.
   *
   * @param token - the session's token, if the caller has one: deleted with the keys when the
   *   budget is spent
   * @param logWhere - what log lines about this attempt name (the call, its request id, the
   *   user reference); default the user reference alone
   * @throws {@link WxKeyAttemptsBusyError} when as many evaluations as the budget allows are under
   *   way; {@link WxSessionNotFoundError} when the budget is spent (the user's keys are then
   *   deleted: they must log in again, with a new key); {@link WxSessionStoreUnavailableError}
   */
  async takeKeyAttempt(
    session: WxActiveSession,
    token: string | undefined,
    logWhere?: () => string,
  ): Promise<WxKeyAttemptTicket> {
    const budgetId = keyBudgetId(session.appId, session.openid, session.sessionKey);
    const max = this.config.maxKeyFailures;
    if (max === false) return { budgetId, session, token, counted: false, logWhere };
    const verdict = await this.store.takeKeyAttempt(budgetId, max, this.config.sessionTtlSeconds);
    if (verdict === 'busy') {
      this.telemetry.keyBudgetRefused('busy');
      throw new WxKeyAttemptsBusyError();
    }
    if (verdict === 'spent') {
      await this.deleteSpentKeys({ budgetId, session, token, counted: true, logWhere });
      throw new WxSessionNotFoundError('the key budget of this user key is spent: log in again');
    }
    return { budgetId, session, token, counted: true, logWhere };
  }

  /**
   * Settles a ticket of {@link takeKeyAttempt}: a success gives the evaluation back, a
   * key-dependent failure counts against the key. With `checkSessionKeyOnFailure`, a failure
   * also asks WeChat, in the background and at most once per key per
   * {@link CHECK_SESSION_KEY_WINDOW_SECONDS} across the fleet, whether the key is still valid.
   *
   * @throws {@link WxSessionStoreUnavailableError} when the store cannot record it
   */
  async settleKeyAttempt(ticket: WxKeyAttemptTicket, succeeded: boolean): Promise<void> {
    if (!succeeded && this.config.checkSessionKeyOnFailure) void this.diagnoseKeyFailure(ticket);
    if (!ticket.counted) return;
    await this.store.settleKeyAttempt(ticket.budgetId, succeeded);
    if (succeeded || this.config.maxKeyFailures === false) return;
    // Did this failure spend the budget? Then the keys go now, not at the next attempt: a
    // session-only route must not outlive the key either. The probe's slot is given back.
    const after = await this.store.takeKeyAttempt(
      ticket.budgetId,
      this.config.maxKeyFailures,
      this.config.sessionTtlSeconds,
    );
    if (after === 'granted') await this.store.settleKeyAttempt(ticket.budgetId, true);
    else if (after === 'spent') await this.deleteSpentKeys(ticket);
  }

  /** The user's keys (and this token's session) go: every evaluation of the key is spent. */
  private async deleteSpentKeys(ticket: WxKeyAttemptTicket): Promise<void> {
    const { session, token } = ticket;
    const userId = wxUserId(session.appId, session.openid);
    const keys = await this.store.getUserKeys(userId);
    if (token !== undefined) await this.store.delete(token);
    // Only if the spent key is still the user's: a newer login's key has a budget of its own.
    if (keys === undefined || keys.sessionKey !== session.sessionKey) return;
    if (await this.store.setUserKeys(userId, keys, keys.version, 0)) {
      forgetSessionKey(keys.sessionKey);
      if (keys.previousSessionKey !== undefined) forgetSessionKey(keys.previousSessionKey);
      this.telemetry.keyBudgetRefused('spent');
      this.logger.warn(
        `${this.logWhere(ticket)} the key budget of this user of mini program ${session.appId} is spent (${String(this.config.maxKeyFailures)} key-dependent failures): ` +
          'their session keys were deleted, so they must log in again (answered 401 WX_SESSION_REQUIRED)',
      );
      // Only the instance whose compare-and-set deleted the keys gets here: one reset per spend.
      void this.resetSpentKey(ticket);
    }
  }

  /**
   * Retires a spent key at WeChat (resetUserSessionKey), in the background. WeChat keeps a user's
   * key across several wx.login calls, so without it the next login could bring the same key back
   * with its budget still spent, and lock the user out until the budget expires; and whatever a
   * prober learnt of the old key is worth nothing once WeChat stops using it. The new key is not
   * kept: the user's next wx.login brings it.
   */
  private async resetSpentKey(ticket: WxKeyAttemptTicket): Promise<void> {
    const { session } = ticket;
    try {
      await this.clients.get(session.appId).resetUserSessionKey(session.openid, session.sessionKey);
      this.logger.log(
        `${this.logWhere(ticket)} resetUserSessionKey: the spent key of this user of mini program ${session.appId} was retired at WeChat`,
      );
    } catch (error) {
      this.logger.warn(
        `${this.logWhere(ticket)} resetUserSessionKey failed for the spent key of this user of mini program ${session.appId} ` +
          `(${error instanceof WxOpenDataError ? error.code : 'unexpected error'}): their next login may bring the same key back`,
      );
    }
  }

  /**
   * Accepts an encrypted payload that decrypted and validated, once: with `replayProtection`,
   * marks its fingerprint (a SHA-256 of its last ciphertext block, bound to the session's user:
   * see {@link openDataFingerprint}) in the store for as long as its
   * watermark could pass, atomically across every instance.
   *
   * @throws {@link WxReplayedPayloadError} when the payload was accepted before;
   *   {@link WxSessionStoreUnavailableError} when the store cannot be asked
   */
  async acceptPayload(envelope: WxEncryptedEnvelope, session: WxActiveSession): Promise<void> {
    if (!this.config.replayProtection) return;
    const first = await this.store.claimPayload(
      openDataFingerprint(envelope, session),
      this.config.replayWindowSeconds,
    );
    if (!first) {
      this.telemetry.replayRefused();
      throw new WxReplayedPayloadError();
    }
  }

  /**
   * Tells a stale key (the user logged in again elsewhere) from a forged or corrupted payload:
   * one WeChat call per key per window for the whole fleet (the claim is the store's atomic
   * replay mark, on a namespace of its own).
   */
  private async diagnoseKeyFailure(ticket: WxKeyAttemptTicket): Promise<void> {
    const { session } = ticket;
    try {
      const first = await this.store.claimPayload(
        `checkSessionKey:${ticket.budgetId}`,
        CHECK_SESSION_KEY_WINDOW_SECONDS,
      );
      if (!first) return;
      const valid = await this.clients.get(session.appId).checkSessionKey(session.openid, session.sessionKey);
      this.logger.warn(
        `${this.logWhere(ticket)} ` +
          (valid
            ? 'checkSessionKey: the session key is valid, so the rejected payload was forged, corrupted or made with another key'
            : 'checkSessionKey: the session key is no longer valid at WeChat (stale): the user must log in again'),
      );
    } catch (error) {
      const reason = error instanceof WxOpenDataError ? error.code : 'unexpected error';
      this.logger.warn(`${this.logWhere(ticket)} checkSessionKey could not be asked: ${reason}`);
    }
  }

  /** What a line about `ticket` names: the guard's call context, else the user reference. */
  private logWhere(ticket: WxKeyAttemptTicket): string {
    if (ticket.logWhere !== undefined) return ticket.logWhere();
    const app = this.config.apps.get(ticket.session.appId);
    return app === undefined ? '[user unknown]' : `[user ${userRefOf(app.appSecret, ticket.session.openid)}]`;
  }

  /**
   * Versions increase strictly within this process and follow the store's clock across
   * processes: one clock for the fleet, so an instance whose clock runs behind cannot write a
   * later login's key with an older version (and have it ignored).
   */
  private async nextVersion(userId: string): Promise<number> {
    const clock = await this.store.clockMicros(userId);
    this.lastVersion = Math.max(clock, this.lastVersion + 1);
    return this.lastVersion;
  }

  /** Compare-and-set loop: writes `sessionKey` unless a newer version is already stored. */
  private async installKey(
    appId: string,
    openid: string,
    sessionKey: string,
    version: number,
  ): Promise<void> {
    const userId = wxUserId(appId, openid);
    for (let attempt = 0; attempt < MAX_KEY_WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.getUserKeys(userId);
      if (current !== undefined && current.version >= version) return;
      const next = this.rotated(current, sessionKey, version);
      if (
        await this.store.setUserKeys(userId, next, current?.version ?? null, this.config.sessionTtlSeconds)
      ) {
        // Keys this write dropped leave this process's decipher cache too.
        for (const dropped of [current?.sessionKey, current?.previousSessionKey]) {
          if (dropped !== undefined && dropped !== next.sessionKey && dropped !== next.previousSessionKey) {
            forgetSessionKey(dropped);
          }
        }
        return;
      }
    }
    throw new Error('session key could not be stored: too many concurrent logins for one user');
  }

  private rotated(current: WxUserKeys | undefined, sessionKey: string, version: number): WxUserKeys {
    if (current === undefined || this.config.keyRotationGraceSeconds === 0) return { sessionKey, version };
    if (current.sessionKey === sessionKey) {
      // WeChat kept the key: nothing rotates, an earlier grace period runs on unchanged.
      return { ...current, version };
    }
    return {
      sessionKey,
      version,
      previousSessionKey: current.sessionKey,
      previousKeyExpiresAt: Date.now() + this.config.keyRotationGraceSeconds * 1000,
    };
  }
}
