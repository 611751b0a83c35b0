import { WxOpenDataError } from '../core/errors.js';
import { describeWxErrcode } from './errcodes.js';

/**
 * The WeChat server calls {@link WxApiClient} makes, as named in errors.
 *
 * @public
 */
export type WxApiOperation =
  | 'code2Session'
  | 'getAccessToken'
  | 'checkSessionKey'
  | 'resetUserSessionKey'
  | 'getPhoneNumber'
  | 'checkEncryptedData'
  | 'getUserEncryptKey'
  | 'setUserStorage'
  | 'removeUserStorage'
  | 'setUserInteractiveData'
  | 'getPaidUnionId'
  | 'getPluginOpenPId'
  | 'getUserRiskRank'
  | 'createActivityId';

/**
 * Root of every failure of a WeChat server call. Messages, properties and stacks never hold the
 * app secret, an access token, a session key, a code or a request URL (code2Session's URL
 * carries the secret), and no `cause` is attached: a network error's cause can name the URL.
 *
 * @public
 */
export abstract class WxApiCallError extends WxOpenDataError {
  /** A failed server call says nothing about a client's session key. */
  readonly keyDependent = false;

  constructor(
    /** Which call failed. */
    readonly operation: WxApiOperation,
    message: string,
  ) {
    super(message);
  }
}

/**
 * WeChat answered with a non-zero `errcode`. Meant for an HTTP 502 unless the caller maps a
 * specific `errcode` (a bad login code, say) to a client error.
 *
 * @public
 */
export class WxApiError extends WxApiCallError {
  readonly code = 'WX_API_ERROR' as const;

  /**
   * @param operation - the call that failed
   * @param errcode - WeChat's error code, e.g. 40029 for an invalid login code
   * @param rid - WeChat's request id from `errmsg`, when present: what WeChat support asks for
   */
  constructor(
    operation: WxApiOperation,
    readonly errcode: number,
    readonly rid?: string,
  ) {
    super(operation, `WeChat ${operation} failed with errcode ${errcode} (${describeWxErrcode(errcode)})`);
  }
}

/**
 * Why WeChat could not be used: `network` (connection refused, reset or unreachable),
 * `http-status` (a non-2xx answer, typically a gateway's error page), `not-json` (an answer
 * that is not a JSON object), `invalid-response` (JSON without the documented fields),
 * `response-too-large`.
 *
 * @public
 */
export type WxApiUnavailableReason =
  'network' | 'http-status' | 'not-json' | 'invalid-response' | 'response-too-large';

/**
 * WeChat could not be reached or did not answer in its own format. Meant for an HTTP 502.
 *
 * @public
 */
export class WxApiUnavailableError extends WxApiCallError {
  readonly code = 'WX_API_UNAVAILABLE' as const;

  /**
   * @param operation - the call that failed
   * @param reason - what went wrong, see {@link WxApiUnavailableReason}
   * @param detail - a safe detail: a system error code such as `ECONNREFUSED`, or `HTTP 502`
   */
  constructor(
    operation: WxApiOperation,
    readonly reason: WxApiUnavailableReason,
    readonly detail?: string,
  ) {
    super(
      operation,
      `WeChat ${operation} unavailable: ${reason}${detail === undefined ? '' : ` (${detail})`}`,
    );
  }
}

/**
 * WeChat did not answer within the configured timeout. Meant for an HTTP 504.
 *
 * @public
 */
export class WxApiTimeoutError extends WxApiCallError {
  readonly code = 'WX_API_TIMEOUT' as const;

  constructor(
    operation: WxApiOperation,
    /** The per-request timeout that ran out. */
    readonly timeoutMs: number,
  ) {
    super(operation, `WeChat ${operation} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * A failure of WeChat's API security mode (see `apiSecurity`). Meant for an HTTP 502: either
 * the answer could not be trusted, or WeChat refused how the request was protected.
 *
 * @public
 */
export abstract class WxApiSecurityError extends WxApiCallError {}

/**
 * Which check an answer failed in the API security mode: `unsigned` (no signature, and not a
 * plain error answer), `unknown-serial` (signed with a certificate not configured),
 * `bad-signature`, `bad-envelope` (not `{ iv, data, authtag }`), `decryption-failed` (the GCM tag
 * does not authenticate), `appid-mismatch`, `timestamp-mismatch` (`_timestamp` is not the
 * header's), `stale` (more than 300 s from the local clock).
 *
 * @public
 */
export type WxApiAnswerRejection =
  | 'unsigned'
  | 'unknown-serial'
  | 'bad-signature'
  | 'bad-envelope'
  | 'decryption-failed'
  | 'appid-mismatch'
  | 'timestamp-mismatch'
  | 'stale';

/**
 * An answer to a protected call failed verification; nothing of it reached the caller. Either
 * something on the path altered or forged it, or the platform certificates configured are not
 * WeChat's current ones (`unknown-serial`), or the clock is off (`stale`).
 *
 * @public
 */
export class WxApiAnswerRejectedError extends WxApiSecurityError {
  readonly code = 'WX_API_ANSWER_REJECTED' as const;

  constructor(
    operation: WxApiOperation,
    /** The check that failed, see {@link WxApiAnswerRejection}. */
    readonly reason: WxApiAnswerRejection,
  ) {
    super(operation, `WeChat ${operation} answer rejected by the API security checks: ${reason}`);
  }
}

/**
 * WeChat's security layer refused a protected request (errcodes 40230 to 40240); the message
 * says what to fix.
 *
 * @public
 */
export class WxApiSecurityRefusedError extends WxApiSecurityError {
  readonly code = 'WX_API_SECURITY_REFUSED' as const;

  constructor(
    operation: WxApiOperation,
    /** WeChat's error code, 40230 to 40240. */
    readonly errcode: number,
    /** What to change, in words. */
    readonly fix: string,
    /** WeChat's request id from `errmsg`, when present. */
    readonly rid?: string,
  ) {
    super(operation, `WeChat ${operation} refused by the API security layer, errcode ${errcode}: ${fix}`);
  }
}

/**
 * Which documented limit a request would break.
 *
 * @public
 */
export type WxApiLimit =
  'pairs' | 'pair-bytes' | 'key-bytes' | 'interactive-key' | 'interactive-value' | 'empty' | 'string-value';

/**
 * A request breaks one of WeChat's documented limits, found before anything was sent (so no quota
 * is spent and no partial write happens). A client error: fix the request, do not retry it. Names
 * the limit and the entry, never a key or value.
 *
 * @public
 */
export class WxApiLimitError extends WxOpenDataError {
  readonly code = 'WX_API_LIMIT_EXCEEDED' as const;
  readonly keyDependent = false;

  constructor(
    /** The call that was not made. */
    readonly operation: WxApiOperation,
    /** Which limit, see {@link WxApiLimit}. */
    readonly limit: WxApiLimit,
    /** The offending field, e.g. `kv_list.3.key`. */
    readonly field: string,
    detail: string,
  ) {
    super(`WeChat ${operation} not called: ${field} ${detail}`);
  }
}

/**
 * WeChat did not confirm that an `encryptedData` is its own and at most 3 days old
 * (checkEncryptedData answered `valid: false`, or a creation time too old). Key-dependent, so it
 * gets the one uniform 401: from outside it looks like any other rejected payload.
 *
 * @public
 */
export class WxProvenanceError extends WxOpenDataError {
  readonly code = 'PROVENANCE_UNCONFIRMED' as const;
  readonly keyDependent = true;

  constructor() {
    super('WeChat did not confirm this encryptedData as its own within 3 days');
  }
}
