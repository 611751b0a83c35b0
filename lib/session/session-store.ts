import type {
  WxAccessTokenLock,
  WxAccessTokenStore,
  WxSharedAccessToken,
} from '../api/access-token-store.js';
import { wxUserId, type WxSessionRecord, type WxUserKeys } from './session.js';

/**
 * A session record with its user's keys, as one read returns them.
 *
 * @public
 */
export interface WxSessionWithKeys {
  readonly session: WxSessionRecord;
  /** `undefined` when the user's keys are gone (expired, or never written). */
  readonly keys: WxUserKeys | undefined;
}

/**
 * The store's answer to a request for one evaluation of a user key:
 * - `granted`: evaluate it, then settle the attempt with {@link WxSessionStore.settleKeyAttempt};
 * - `busy`: the attempts in flight would reach the limit: refuse this one, the key may still pass;
 * - `spent`: the key failed as often as the limit allows while its budget lives: refuse.
 *
 * @public
 */
export type WxKeyAttempt = 'granted' | 'busy' | 'spent';

// ---- Duplicate login codes (issue 12) ----

/**
 * What a store remembers of a login by its code: who logged in. Never the session key: the user's
 * key is already in the store, under {@link wxUserId}, when the login is remembered.
 *
 * @public
 */
export interface WxRememberedLogin {
  readonly appId: string;
  readonly openid: string;
  readonly unionid?: string;
}

/**
 * The answer to a claim of a login code ({@link WxSessionStore.claimLoginCode}):
 * - `claimed`: the caller redeems the code with WeChat, then calls `rememberLogin` (success) or
 *   `releaseLoginCode` with its `owner` (failure);
 * - `pending`: another caller, maybe on another instance, is redeeming it: ask again shortly;
 * - `done`: the code was redeemed within its life, by whom `login` says.
 *
 * @public
 */
export type WxLoginCodeClaim =
  | { readonly state: 'claimed'; readonly owner: string }
  | { readonly state: 'pending' }
  | { readonly state: 'done'; readonly login: WxRememberedLogin };

/**
 * Where sessions, users' session keys and the state a fleet of instances shares live. Both the
 * type to implement and the Nest injection token: a constructor parameter typed `WxSessionStore`
 * is enough to receive it.
 *
 * Kinds of entry:
 * - session records by their opaque token, and each user's keys by {@link wxUserId};
 * - fleet state: each mini program's access token and its refresh lock, the replay cache of
 *   accepted encrypted payloads, and a key-attempt budget per user key ({@link keyBudgetId}).
 *
 * TTLs are in **seconds** throughout (fractions allowed where noted); a TTL of zero or below
 * removes the entry, and a TTL that is not a finite number is refused with a `RangeError`.
 * Implementations must not return an entry past its TTL, must make the compare-and-set and
 * counting operations atomic across every instance that shares the store, and must treat
 * session keys, tokens and access tokens as secrets (values only: never in a key name a
 * monitoring tool would show, a log line or an error message).
 *
 * A store that cannot answer must throw (a {@link WxSessionStoreUnavailableError} for the HTTP
 * 503), never answer "absent": an absent session is a 401 that sends the user back to log in.
 *
 * @public
 */
export abstract class WxSessionStore implements WxAccessTokenStore {
  /** The live session record for `token`, or `undefined` when absent or expired. */
  abstract get(token: string): Promise<WxSessionRecord | undefined>;

  /** Stores (or replaces) the session record for `token`, expiring after `ttlSeconds`. */
  abstract set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void>;

  /**
   * Removes the session record for `token`; removing an absent one is not an error. Key-attempt
   * budgets stay: they belong to the user's key, which other sessions may share.
   */
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

  /**
   * The live session for `token` with its user's keys: what every guarded request needs. The
   * default reads one, then the other; a store that can answer both in one round trip should.
   */
  async getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    const session = await this.get(token);
    if (session === undefined) return undefined;
    return { session, keys: await this.getUserKeys(wxUserId(session.appId, session.openid)) };
  }

  /**
   * Marks an accepted encrypted payload by its `fingerprint` for `ttlSeconds`, atomically: of any
   * number of concurrent claims of one fingerprint, on any instance, exactly one gets `true`
   * until the mark expires. The fingerprint is a hash of the ciphertext, never the plaintext.
   *
   * @returns `true` for the first claim, `false` for a replay
   */
  abstract claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean>;

  /**
   * Takes one evaluation of the key `budgetId` from its budget, atomically across every instance
   * sharing the store, BEFORE any key-dependent work (signature check, decryption).
   * `'granted'` iff inFlight + failed < maxAttempts (then inFlight += 1); otherwise `'spent'` when
   * failed >= maxAttempts, else `'busy'`. The budget lives `ttlSeconds` from its first take and is
   * not extended by later takes.
   *
   * An attempt granted and never settled (the process died in between) holds its slot until the
   * budget expires: the budget errs towards refusing.
   *
   * @param budgetId - {@link keyBudgetId} of the key (1-128 base64url characters)
   * @param maxAttempts - a positive integer
   * @param ttlSeconds - a positive finite number (fractions allowed)
   * @throws TypeError for a malformed budget id, RangeError for a bad limit or TTL
   */
  abstract takeKeyAttempt(budgetId: string, maxAttempts: number, ttlSeconds: number): Promise<WxKeyAttempt>;

  /**
   * Settles a granted attempt: inFlight -= 1, and failed += 1 unless it succeeded. A budget that
   * expired meanwhile is left gone (nothing is created); inFlight never goes below zero.
   */
  abstract settleKeyAttempt(budgetId: string, succeeded: boolean): Promise<void>;

  /** The fleet's access token of mini program `appId`, or `undefined`. See {@link WxAccessTokenStore}. */
  abstract readAccessToken(appId: string): Promise<WxSharedAccessToken | undefined>;

  /** Publishes the fleet's access token of `appId`; it expires from the store at `token.expiresAt`. */
  abstract writeAccessToken(appId: string, token: WxSharedAccessToken): Promise<void>;

  /**
   * Takes the fleet-wide access-token refresh lock of `appId` for `ttlSeconds` (fractions
   * allowed), or `undefined` when it is held. Only the holder's `release()` frees it early.
   */
  abstract lockAccessTokenRefresh(appId: string, ttlSeconds: number): Promise<WxAccessTokenLock | undefined>;

  /**
   * The store's clock in microseconds since the epoch, read where `userId`'s keys live. Versions
   * of users' keys are taken from it when a login's code2Session answers, so that logins on
   * instances whose clocks disagree are still ordered by one clock: a login that comes after
   * another always replaces its key. Default: this process's clock.
   */
  clockMicros(userId: string): Promise<number> {
    void userId;
    return Promise.resolve(Date.now() * 1000);
  }

  /**
   * Opens the store's connection, if it has one, and resolves once it can answer; rejects when it
   * cannot within the store's own connect timeout (the store keeps trying in the background).
   * Default: nothing to open.
   */
  connect(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Resolves when the store answers now, rejects (a {@link WxSessionStoreUnavailableError}) when
   * it does not: what a health check asks. Default: resolves (a store in this process is there).
   */
  ping(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Releases what the store opened itself (connections, timers); a connection or client handed to
   * it stays open. Afterwards every operation fails. Default: nothing to release.
   */
  close(): Promise<void> {
    return Promise.resolve();
  }

  // ---- Duplicate login codes (issue 12) ----

  /**
   * Claims the login code whose hash is `codeHash` (see `loginCodeHash`; the code itself never
   * reaches the store), atomically across every instance: of concurrent claims exactly one gets
   * `claimed`, the others `pending` until the holder remembers the login (then `done`) or
   * releases its claim. An unsettled claim lapses after `ttlSeconds`.
   *
   * Default, for stores that do not implement it: always `claimed`, so duplicates are only
   * joined within one process. The memory and Redis stores implement it.
   */
  claimLoginCode(codeHash: string, ttlSeconds: number): Promise<WxLoginCodeClaim> {
    void codeHash;
    void ttlSeconds;
    return Promise.resolve({ state: 'claimed', owner: '' });
  }

  /**
   * Remembers who logged in with the code `codeHash`, for `ttlSeconds` (the code's life), in place
   * of the claim: later claims answer `done` with `login`. Default: nothing is remembered.
   */
  rememberLogin(codeHash: string, login: WxRememberedLogin, ttlSeconds: number): Promise<void> {
    void codeHash;
    void login;
    void ttlSeconds;
    return Promise.resolve();
  }

  /**
   * Gives a claim back (the redemption failed) if `owner` still holds it, so the next claim may
   * try again. Default: nothing to release.
   */
  releaseLoginCode(codeHash: string, owner: string): Promise<void> {
    void codeHash;
    void owner;
    return Promise.resolve();
  }
}
