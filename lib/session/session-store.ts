import type { WxStoredSession } from './session.js';

/**
 * Where sessions live, keyed by their opaque token. Both the type to implement and the Nest
 * injection token: `@Inject(WxSessionStore)` is not needed, a constructor parameter typed
 * `WxSessionStore` is enough.
 *
 * TTLs are in **seconds** throughout. Implementations must not return a session past its TTL,
 * and must treat the stored value as secret (it holds the session key).
 *
 * @public
 */
export abstract class WxSessionStore {
  /** The live session for `token`, or `undefined` when absent or expired. */
  abstract get(token: string): Promise<WxStoredSession | undefined>;

  /**
   * Stores (or replaces) the session for `token`, expiring after `ttlSeconds`; a TTL of zero or
   * below removes it.
   */
  abstract set(token: string, session: WxStoredSession, ttlSeconds: number): Promise<void>;

  /** Removes the session for `token`; removing an absent one is not an error. */
  abstract delete(token: string): Promise<void>;
}
