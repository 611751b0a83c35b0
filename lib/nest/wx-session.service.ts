import { Inject, Injectable, Logger } from '@nestjs/common';
import { WxSessionNotFoundError, type WxEncryptedEnvelope } from '../core/index.js';
import {
  createSessionToken,
  isSessionToken,
  openDataFingerprint,
  WxReplayedPayloadError,
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

  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) private readonly config: WxOpenDataConfig,
    private readonly store: WxSessionStore,
    private readonly clients: WxApiClients,
  ) {}

  /**
   * Exchanges a `wx.login` code (code2Session) and opens a session for the user.
   *
   * @param code - the code the mini program got from `wx.login`; single use, valid 5 minutes
   * @param appId - the mini program the code is from; default the first configured one
   * @throws {@link WxApiError} when WeChat refuses the code (40029 invalid, 40163 used, 45011
   *   rate limit, 40226 blocked user), {@link WxApiUnavailableError} or {@link WxApiTimeoutError}
   *   when WeChat cannot be reached in time
   */
  async login(code: string, appId: string = this.config.defaultAppId): Promise<WxLoginResult> {
    const { openid, unionid, sessionKey } = await this.clients.get(appId).code2Session(code);
    const token = await this.create({ openid, unionid, appId, sessionKey });
    return unionid === undefined ? { token, openid } : { token, openid, unionid };
  }

  /**
   * Stores the user's key (rotating it if it changed) and a session under a fresh token, and
   * returns the token. {@link login} uses it; call it directly when you ran code2Session yourself.
   */
  async create(session: WxNewSession): Promise<string> {
    const appId = session.appId ?? this.config.defaultAppId;
    if (!this.config.apps.has(appId)) throw new Error(`mini program ${appId} is not configured`);
    const version = await this.nextVersion(wxUserId(appId, session.openid));
    await this.installKey(appId, session.openid, session.sessionKey, version);
    const record: WxSessionRecord = { openid: session.openid, appId, createdAt: Date.now() };
    if (session.unionid !== undefined) record.unionid = session.unionid;
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
