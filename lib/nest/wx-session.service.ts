import { Inject, Injectable, Logger } from '@nestjs/common';
import { WxSessionNotFoundError, type WxEncryptedEnvelope } from '../core/index.js';
import {
  createSessionToken,
  isSessionToken,
  openDataFingerprint,
  WxReplayedPayloadError,
  WxLoginCodes,
  WxSessionStore,
  wxUserId,
  type WxActiveSession,
  type WxSessionRecord,
  type WxUserKeys,
} from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { WxApiClients } from './wx-api-clients.js';

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
    private readonly store: WxSessionStore,
    private readonly clients: WxApiClients,
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
   * @param appId - the mini program the code is from; default the first configured one
   * @throws {@link WxApiError} when WeChat refuses the code (40029 invalid, 40163 used, 45011
   *   rate limit, 40226 blocked user), {@link WxApiUnavailableError} or {@link WxApiTimeoutError}
   *   when WeChat cannot be reached in time
   */
  async login(code: string, appId: string = this.config.defaultAppId): Promise<WxLoginResult> {
    const client = this.clients.get(appId);
    // Duplicates of one code (concurrent, retried, on other instances) share one code2Session.
    const { login } = await this.loginCodes.redeem(appId, code, async () => {
      const { openid, unionid, sessionKey } = await client.code2Session(code);
      await this.installUserKey(appId, openid, sessionKey);
      return unionid === undefined ? { appId, openid } : { appId, openid, unionid };
    });
    const token = await this.openSession(login.appId, login.openid, login.unionid);
    const { openid, unionid } = login;
    return unionid === undefined ? { token, openid } : { token, openid, unionid };
  }

  /**
   * Stores the user's key (rotating it if it changed) and a session under a fresh token, and
   * returns the token. {@link login} uses it; call it directly when you ran code2Session yourself.
   */
  async create(session: WxNewSession): Promise<string> {
    const appId = session.appId ?? this.config.defaultAppId;
    await this.installUserKey(appId, session.openid, session.sessionKey);
    return this.openSession(appId, session.openid, session.unionid);
  }

  /** Stores the user's key (rotating it if it changed), versioned by the store's clock. */
  private async installUserKey(appId: string, openid: string, sessionKey: string): Promise<void> {
    if (!this.config.apps.has(appId)) throw new Error(`mini program ${appId} is not configured`);
    const version = await this.nextVersion(wxUserId(appId, openid));
    await this.installKey(appId, openid, sessionKey, version);
  }

  /** A session record under a fresh token, for a user whose key is in the store. */
  private async openSession(appId: string, openid: string, unionid: string | undefined): Promise<string> {
    const record: WxSessionRecord = { openid, appId, createdAt: Date.now() };
    if (unionid !== undefined) record.unionid = unionid;
    const token = createSessionToken();
    await this.store.set(token, record, this.config.sessionTtlSeconds);
    return token;
  }

  /**
   * The live session for `token`, with the keys that may decrypt its data.
   *
   * @throws {@link WxSessionNotFoundError} when the token is malformed, unknown or expired, the
   *   user's key is gone, or the session's mini program is no longer configured;
   *   {@link WxSessionStoreUnavailableError} when the store cannot be asked
   */
  async require(token: string | undefined): Promise<WxActiveSession> {
    if (!isSessionToken(token)) throw new WxSessionNotFoundError('no session token');
    // One read for both: with Redis, one round trip per guarded request.
    const found = await this.store.getSessionWithKeys(token);
    if (found === undefined) throw new WxSessionNotFoundError();
    const { session: record, keys } = found;
    if (!this.config.apps.has(record.appId)) {
      throw new WxSessionNotFoundError('session belongs to a mini program no longer configured');
    }
    if (keys === undefined) throw new WxSessionNotFoundError('no session key for this user');
    const active: WxActiveSession = { ...record, sessionKey: keys.sessionKey };
    if (keys.previousSessionKey !== undefined && (keys.previousKeyExpiresAt ?? 0) > Date.now()) {
      active.previousSessionKey = keys.previousSessionKey;
    }
    return active;
  }

  /** Ends the session for `token` (logout); an unknown token is not an error. */
  async revoke(token: string): Promise<void> {
    if (isSessionToken(token)) await this.store.delete(token);
  }

  /**
   * Records a key-dependent failure of `session`'s data (signature, decryption, watermark,
   * identity, DTO): counted in the store across every instance, and at `maxKeyFailures` the
   * session is revoked in the same atomic step. With `checkSessionKeyOnFailure`, also asks
   * WeChat in the background whether the key is still valid and logs the verdict.
   *
   * Awaited before the 401 goes out, so the request after the one that reached the limit cannot
   * pass the guard.
   *
   * @param token - the session's token, as the guard resolved it
   * @throws {@link WxSessionStoreUnavailableError} when the failure cannot be counted
   */
  async reportKeyFailure(session: WxActiveSession, token: string): Promise<void> {
    if (this.config.checkSessionKeyOnFailure) void this.diagnoseKeyFailure(session);
    if (this.config.maxKeyFailures === false || !isSessionToken(token)) return;
    const { failures, revoked } = await this.store.recordKeyFailure(
      token,
      this.config.maxKeyFailures,
      this.config.sessionTtlSeconds,
    );
    // Failures racing past the limit report it too; one line for the revocation is enough.
    if (revoked && failures === this.config.maxKeyFailures) {
      this.logger.warn(
        `a session of mini program ${session.appId} was revoked after ${failures} key-dependent failures: its user must log in again`,
      );
    }
  }

  /**
   * Accepts an encrypted payload that decrypted and validated, once: with `replayProtection`,
   * marks its fingerprint (a SHA-256 of the ciphertext) in the store for as long as its
   * watermark could pass, atomically across every instance.
   *
   * @throws {@link WxReplayedPayloadError} when the payload was accepted before;
   *   {@link WxSessionStoreUnavailableError} when the store cannot be asked
   */
  async acceptPayload(envelope: WxEncryptedEnvelope): Promise<void> {
    if (!this.config.replayProtection) return;
    const first = await this.store.claimPayload(
      openDataFingerprint(envelope),
      this.config.replayWindowSeconds,
    );
    if (!first) throw new WxReplayedPayloadError();
  }

  /** Tells a stale key (the user logged in again elsewhere) from a forged or corrupted payload. */
  private async diagnoseKeyFailure(session: WxActiveSession): Promise<void> {
    try {
      const valid = await this.clients.get(session.appId).checkSessionKey(session.openid, session.sessionKey);
      this.logger.warn(
        valid
          ? 'checkSessionKey: the session key is valid, so the rejected payload was forged, corrupted or made with another key'
          : 'checkSessionKey: the session key is no longer valid at WeChat (stale): the user must log in again',
      );
    } catch (error) {
      this.logger.warn(`checkSessionKey could not be asked: ${(error as Error).message}`);
    }
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
      if (
        await this.store.setUserKeys(
          userId,
          this.rotated(current, sessionKey, version),
          current?.version ?? null,
          this.config.sessionTtlSeconds,
        )
      ) {
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
