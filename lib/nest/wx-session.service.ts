import { Inject, Injectable } from '@nestjs/common';
import { WxSessionNotFoundError } from '../core/index.js';
import {
  createSessionToken,
  isSessionToken,
  WxSessionStore,
  type WxStoredSession,
} from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';

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
  sessionKey: string;
}

/**
 * Opens, finds and closes sessions in the configured {@link WxSessionStore}.
 *
 * @public
 */
@Injectable()
export class WxSessionService {
  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) private readonly config: WxOpenDataConfig,
    private readonly store: WxSessionStore,
  ) {}

  /**
   * Stores a session under a fresh token and returns the token, the only thing the client gets.
   *
   * @throws {@link WxSessionNotFoundError} never; throws `Error` for an app that is not configured
   */
  async create(session: WxNewSession): Promise<string> {
    const appId = session.appId ?? this.config.defaultAppId;
    if (!this.config.apps.has(appId)) throw new Error(`mini program ${appId} is not configured`);
    const token = createSessionToken();
    const stored: WxStoredSession = {
      openid: session.openid,
      appId,
      sessionKey: session.sessionKey,
      createdAt: Date.now(),
    };
    if (session.unionid !== undefined) stored.unionid = session.unionid;
    await this.store.set(token, stored, this.config.sessionTtlSeconds);
    return token;
  }

  /**
   * The live session for `token`.
   *
   * @throws {@link WxSessionNotFoundError} when the token is malformed, unknown or expired, or
   *   its mini program is no longer configured
   */
  async require(token: string | undefined): Promise<WxStoredSession> {
    if (!isSessionToken(token)) throw new WxSessionNotFoundError('no session token');
    const session = await this.store.get(token);
    if (session === undefined) throw new WxSessionNotFoundError();
    if (!this.config.apps.has(session.appId)) {
      throw new WxSessionNotFoundError('session belongs to a mini program no longer configured');
    }
    return session;
  }

  /** Ends the session for `token`; an unknown token is not an error. */
  async revoke(token: string): Promise<void> {
    if (isSessionToken(token)) await this.store.delete(token);
  }
}
