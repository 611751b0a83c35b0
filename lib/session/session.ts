import type { WxUserIdentity } from '../core/index.js';

/**
 * What the server keeps for one login. The session key lives only here: it never reaches the
 * client, a log line or a response.
 *
 * @public
 */
export interface WxStoredSession extends WxUserIdentity {
  /** The user's openid within `appId`. */
  openid: string;
  /** The user's unionid, when the mini program is bound to an Open Platform account. */
  unionid?: string;
  /** The mini program this session was opened for; decrypted watermarks must name it. */
  appId: string;
  /** Base64 of the 16-byte session key returned by code2Session. */
  sessionKey: string;
  /** When the session was created, in milliseconds since the epoch. */
  createdAt: number;
}

/**
 * The part of a session a request handler may see (`@WxSession()`): never the session key.
 *
 * @public
 */
export interface WxSessionInfo {
  readonly openid: string;
  readonly unionid?: string;
  readonly appId: string;
}

/**
 * Copies the identity out of a stored session, leaving the key behind.
 *
 * @public
 */
export function toSessionInfo(session: WxStoredSession): WxSessionInfo {
  const info: { openid: string; unionid?: string; appId: string } = {
    openid: session.openid,
    appId: session.appId,
  };
  if (session.unionid !== undefined) info.unionid = session.unionid;
  return Object.freeze(info);
}
