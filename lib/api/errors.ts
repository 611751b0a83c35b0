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
