import type { WxUserIdentity } from '../core/index.js';
import { userKeyBudgetId } from './key-budget.js';

/**
 * What the server keeps for one login, under its opaque token: who, for which mini program,
 * since when. The session key is kept per user, in {@link WxUserKeys}, since WeChat holds one
 * valid key per user and a new login rotates it for every token of that user.
 *
 * @public
 */
export interface WxSessionRecord extends WxUserIdentity {
  /** The user's openid within `appId`. */
  openid: string;
  /** The user's unionid, when the mini program is bound to an Open Platform account. */
  unionid?: string;
  /** The mini program this session was opened for; decrypted watermarks must name it. */
  appId: string;
  /** When the session was created, in milliseconds since the epoch. */
  createdAt: number;
}

/**
 * A user's session key as the server holds it. Secret: it never reaches the client, a log line or
 * a response.
 *
 * @public
 */
export interface WxUserKeys {
  /** Base64 of the 16-byte key code2Session returned last. */
  sessionKey: string;
  /**
   * Orders writes: a key is replaced only by one with a higher version, so two racing logins
   * never leave the older key behind.
   */
  version: number;
  /** The key before the last rotation, still accepted until {@link previousKeyExpiresAt}. */
  previousSessionKey?: string;
  /** Milliseconds since the epoch. */
  previousKeyExpiresAt?: number;
}

/**
 * A live session as a request sees it: the record plus the keys that may decrypt its data.
 *
 * @public
 */
export interface WxActiveSession extends WxSessionRecord {
  sessionKey: string;
  /** Present only within the grace period after a rotation. */
  previousSessionKey?: string;
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
 * Copies the identity out of a session, leaving any key behind.
 *
 * @public
 */
export function toSessionInfo(session: WxSessionRecord): WxSessionInfo {
  const info: { openid: string; unionid?: string; appId: string } = {
    openid: session.openid,
    appId: session.appId,
  };
  if (session.unionid !== undefined) info.unionid = session.unionid;
  return Object.freeze(info);
}

/**
 * The store key of a user's {@link WxUserKeys}: openids are unique only within one mini program.
 *
 * @public
 */
export function wxUserId(appId: string, openid: string): string {
  return `${appId}:${openid}`;
}

/**
 * The budget of one key of one user: the same for every login that keeps the key (WeChat often
 * keeps it), different for a new key. A hash, so no key material appears in a store key name:
 * base64url of SHA-256 over the user ({@link wxUserId}) and the key, 22 characters.
 *
 * Every evaluation of the key (signature check, decryption) takes an attempt from this budget
 * first, see {@link WxSessionStore.takeKeyAttempt}.
 *
 * @public
 */
export function keyBudgetId(appId: string, openid: string, sessionKey: string): string {
  return userKeyBudgetId(wxUserId(appId, openid), sessionKey);
}
