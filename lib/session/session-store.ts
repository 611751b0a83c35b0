import type { WxSessionRecord, WxUserKeys } from './session.js';

/**
 * Where sessions and users' session keys live. Both the type to implement and the Nest
 * injection token: a constructor parameter typed `WxSessionStore` is enough to receive it.
 *
 * Two kinds of entry: session records by their opaque token, and each user's keys by
 * {@link wxUserId}. TTLs are in **seconds** throughout; a TTL of zero or below removes the entry.
 * Implementations must not return an entry past its TTL, and must treat user keys as secrets.
 *
 * @public
 */
export abstract class WxSessionStore {
  /** The live session record for `token`, or `undefined` when absent or expired. */
  abstract get(token: string): Promise<WxSessionRecord | undefined>;

  /** Stores (or replaces) the session record for `token`, expiring after `ttlSeconds`. */
  abstract set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void>;

  /** Removes the session record for `token`; removing an absent one is not an error. */
  abstract delete(token: string): Promise<void>;

  /** The keys of the user `userId`, or `undefined`. */
  abstract getUserKeys(userId: string): Promise<WxUserKeys | undefined>;

  /**
   * Writes a user's keys only if the stored version is still `expectedVersion` (`null`: no entry
   * yet), atomically: the compare-and-set that keeps racing logins from losing a rotation.
   *
   * @returns whether the keys were written
   */
  abstract setUserKeys(
    userId: string,
    keys: WxUserKeys,
    expectedVersion: number | null,
    ttlSeconds: number,
  ): Promise<boolean>;
}
