import { WxOpenDataError } from '../core/errors.js';

/**
 * Why a {@link WxSessionStore} could not answer:
 * - `unreachable`: no connection (refused, reset, reconnecting, not connected yet);
 * - `timeout`: the store did not answer within its command timeout (stalled or overloaded);
 * - `failed`: the store answered with an error;
 * - `closed`: the store was closed by the application.
 *
 * @public
 */
export type WxSessionStoreFailure = 'unreachable' | 'timeout' | 'failed' | 'closed';

/**
 * The session store could not be asked, so nothing can be known about the session: the request
 * is refused with a 503 and `Retry-After`, never let through and never told "no session".
 *
 * Messages name the failure and the operation only: never a key, a token, a value or a
 * connection URL (which may carry a password).
 *
 * @public
 */
export class WxSessionStoreUnavailableError extends WxOpenDataError {
  readonly code = 'SESSION_STORE_UNAVAILABLE' as const;
  readonly keyDependent = false;

  /**
   * @param reason - what went wrong, see {@link WxSessionStoreFailure}
   * @param operation - the store operation that failed, e.g. `get`, safe to log
   * @param retryAfterSeconds - how long clients should wait before retrying (HTTP `Retry-After`)
   */
  constructor(
    readonly reason: WxSessionStoreFailure,
    readonly operation: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(`session store unavailable (${reason}) during ${operation}`);
  }
}

/**
 * The encrypted payload was already accepted once within its freshness window. Answered with the
 * same uniform 401 as every key-dependent failure: it is only detected after a successful
 * decryption, so a distinct answer would confirm the payload was genuine.
 *
 * Not counted as a key failure: a replay says nothing about the session key.
 *
 * @public
 */
export class WxReplayedPayloadError extends WxOpenDataError {
  readonly code = 'PAYLOAD_REPLAYED' as const;
  readonly keyDependent = true;

  constructor() {
    super('encrypted payload was already accepted once');
  }
}

/**
 * As many evaluations of the user's key as its budget allows (`maxKeyFailures`) are already
 * under way, on this instance or another: the request is refused before its data is looked at,
 * with a 429 and `Retry-After: 1`. Not key-dependent: it says nothing about the data or the key.
 *
 * @public
 */
export class WxKeyAttemptsBusyError extends WxOpenDataError {
  readonly code = 'KEY_ATTEMPTS_BUSY' as const;
  readonly keyDependent = false;

  constructor() {
    super('too many evaluations of this user key at once: retry shortly');
  }
}
