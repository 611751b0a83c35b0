import { HttpStatus, type HttpException, type Logger } from '@nestjs/common';
import {
  WxApiError,
  WxApiLimitError,
  WxApiSecurityError,
  WxApiTimeoutError,
  WxApiUnavailableError,
  type WxApiOperation,
} from '../api/index.js';
import type { WxOpenDataError, WxOpenDataErrorCode } from '../core/index.js';
import {
  WxMalformedPayloadError,
  WxOpenDataConfigError,
  WxSessionNotFoundError,
  WxUnsupportedContextError,
} from '../core/index.js';
import { WxKeyAttemptsBusyError, WxSessionStoreUnavailableError } from '../session/index.js';
import { httpWhere, toContextError } from './call-site.js';
import { logContext, requestIdOf } from './log-context.js';

/**
 * The codes a client receives: `body.code` over HTTP, `extensions.code` in GraphQL, `data.code`
 * of a WebSocket `exception`. The one public vocabulary: a client branches on these, never on an
 * error's `code`.
 *
 * @public
 */
export type WxAnswerCode =
  | 'WX_MALFORMED_PAYLOAD'
  | 'WX_SESSION_REQUIRED'
  | 'WX_OPEN_DATA_REJECTED'
  | 'WX_KEY_BUSY'
  | 'WX_SESSION_STORE_UNAVAILABLE'
  | 'WX_CODE_REJECTED'
  | 'WX_SESSION_KEY_STALE'
  | 'WX_RATE_LIMITED'
  | 'WX_USER_BLOCKED'
  | 'WX_API_ERROR'
  | 'WX_API_UNAVAILABLE'
  | 'WX_API_TIMEOUT'
  | 'WX_API_ANSWER_REJECTED'
  | 'WX_API_SECURITY_REFUSED'
  | 'WX_LIMIT_EXCEEDED'
  | 'WX_SERVER_MISCONFIGURED';

/**
 * One vocabulary, two sides of it: an error's `code` ({@link WxOpenDataErrorCode}) is the exact
 * reason, for the server's log lines, metrics and code; the answer's `code` ({@link WxAnswerCode})
 * is what the client can act on. Several reasons answer one code on purpose: every key-dependent
 * reason answers `WX_OPEN_DATA_REJECTED`, so that nothing outside can tell a bad padding from a bad
 * watermark (a padding oracle); a WeChat errcode answers what the client must do about it. Where
 * the client can act on the reason itself, both sides carry the same word (`WX_API_TIMEOUT`). This
 * table is that mapping, the one place it is written down (the README's "Errors and HTTP
 * statuses" table is checked against it):
 *
 * | error `code`                                                                 | answer `code`                                                                                                        |
 * | ---------------------------------------------------------------------------- | -------------------------------------------------------------------------------------------------------------------- |
 * | `MALFORMED_PAYLOAD`                                                          | `WX_MALFORMED_PAYLOAD` (400, names the field)                                                                        |
 * | `SESSION_NOT_FOUND`                                                          | `WX_SESSION_REQUIRED` (401)                                                                                          |
 * | `DECRYPT_FAILED`, `SESSION_KEY_INVALID`, `WATERMARK_*`, `SIGNATURE_INVALID`, `IDENTITY_MISMATCH`, `PAYLOAD_INVALID`, `PAYLOAD_REPLAYED`, `PROVENANCE_UNCONFIRMED` (key-dependent) | `WX_OPEN_DATA_REJECTED` (401, one body) |
 * | `KEY_ATTEMPTS_BUSY`                                                          | `WX_KEY_BUSY` (429)                                                                                                  |
 * | `SESSION_STORE_UNAVAILABLE`                                                  | `WX_SESSION_STORE_UNAVAILABLE` (503)                                                                                 |
 * | `WX_API_ERROR`                                                               | by errcode: `WX_CODE_REJECTED` (401), `WX_SESSION_KEY_STALE` (401), `WX_RATE_LIMITED` (429), `WX_USER_BLOCKED` (403), else `WX_API_ERROR` (502) |
 * | `WX_API_UNAVAILABLE`, `WX_API_TIMEOUT`, `WX_API_ANSWER_REJECTED`, `WX_API_SECURITY_REFUSED` | the same code (502, 504, 502, 502)                                                                    |
 * | `WX_API_LIMIT_EXCEEDED`                                                      | `WX_LIMIT_EXCEEDED` (400, names the field)                                                                           |
 * | `CONFIG_INVALID`, `CONTEXT_UNSUPPORTED` (boot errors; thrown as they are by the guard) | `WX_SERVER_MISCONFIGURED` (500) if one reaches an answer                                                    |
 *
 * @internal
 */
export const WX_ANSWER_CODES: Readonly<Record<WxOpenDataErrorCode, readonly WxAnswerCode[]>> = Object.freeze({
  MALFORMED_PAYLOAD: ['WX_MALFORMED_PAYLOAD'],
  SESSION_NOT_FOUND: ['WX_SESSION_REQUIRED'],
  DECRYPT_FAILED: ['WX_OPEN_DATA_REJECTED'],
  SESSION_KEY_INVALID: ['WX_OPEN_DATA_REJECTED'],
  WATERMARK_INVALID: ['WX_OPEN_DATA_REJECTED'],
  WATERMARK_APPID_MISMATCH: ['WX_OPEN_DATA_REJECTED'],
  WATERMARK_EXPIRED: ['WX_OPEN_DATA_REJECTED'],
  WATERMARK_FROM_FUTURE: ['WX_OPEN_DATA_REJECTED'],
  SIGNATURE_INVALID: ['WX_OPEN_DATA_REJECTED'],
  IDENTITY_MISMATCH: ['WX_OPEN_DATA_REJECTED'],
  PAYLOAD_INVALID: ['WX_OPEN_DATA_REJECTED'],
  PAYLOAD_REPLAYED: ['WX_OPEN_DATA_REJECTED'],
  PROVENANCE_UNCONFIRMED: ['WX_OPEN_DATA_REJECTED'],
  KEY_ATTEMPTS_BUSY: ['WX_KEY_BUSY'],
  SESSION_STORE_UNAVAILABLE: ['WX_SESSION_STORE_UNAVAILABLE'],
  WX_API_ERROR: [
    'WX_CODE_REJECTED',
    'WX_SESSION_KEY_STALE',
    'WX_RATE_LIMITED',
    'WX_USER_BLOCKED',
    'WX_API_ERROR',
  ],
  WX_API_UNAVAILABLE: ['WX_API_UNAVAILABLE'],
  WX_API_TIMEOUT: ['WX_API_TIMEOUT'],
  WX_API_ANSWER_REJECTED: ['WX_API_ANSWER_REJECTED'],
  WX_API_SECURITY_REFUSED: ['WX_API_SECURITY_REFUSED'],
  WX_API_LIMIT_EXCEEDED: ['WX_LIMIT_EXCEEDED'],
  CONFIG_INVALID: ['WX_SERVER_MISCONFIGURED'],
  CONTEXT_UNSUPPORTED: ['WX_SERVER_MISCONFIGURED'],
});

/**
 * The one body every key-dependent failure gets (padding, UTF-8, JSON, watermark, signature,
 * identity, DTO validation of decrypted data): nothing outside can tell them apart.
 *
 * @public
 */
export const WX_OPEN_DATA_REJECTED_BODY = Object.freeze({
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_OPEN_DATA_REJECTED' as const,
  message: 'WeChat open data rejected: call wx.login, log in again, then get the data again',
});

/**
 * The body of a request without a live session: log in (again) with `wx.login`.
 *
 * @public
 */
export const WX_SESSION_REQUIRED_BODY = Object.freeze({
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_SESSION_REQUIRED' as const,
  message: 'WeChat session required: call wx.login, log in, and send the new token',
});

/**
 * The body of a request refused because the session store could not be asked (Redis down or
 * stalled): nothing is known about the session, so the request is neither let through nor told
 * to log in again. Sent with `Retry-After`.
 *
 * @public
 */
export const WX_SESSION_STORE_UNAVAILABLE_BODY = Object.freeze({
  statusCode: 503,
  error: 'Service Unavailable',
  code: 'WX_SESSION_STORE_UNAVAILABLE' as const,
  message: 'Session store unavailable, retry shortly',
});

/**
 * The body of a request refused because as many evaluations of the user's key as its budget
 * allows are already under way (a burst on one session): nothing is known about this request's
 * data; retry after a second. Sent with `Retry-After: 1`.
 *
 * @public
 */
export const WX_KEY_BUSY_BODY = Object.freeze({
  statusCode: 429,
  error: 'Too Many Requests',
  code: 'WX_KEY_BUSY' as const,
  message: 'Too many requests for this session at once, retry shortly',
});

/**
 * WeChat errcodes that mean "this login, phone or plugin code is no good": the client must get a
 * new one (1007: no openpid for a plugin code, most often a `wx.login` code sent instead).
 */
const CODE_REJECTED_ERRCODES = new Set([40029, 40163, 1007]);
/** The session key WeChat holds is another (87009) or gone (87007): the user must log in again. */
const SESSION_KEY_STALE_ERRCODES = new Set([87007, 87009]);
const RATE_LIMITED_ERRCODE = 45011;
const HIGH_RISK_USER_ERRCODE = 40226;

/**
 * The body of a library refusal, the same in every context (HTTP body, GraphQL
 * `extensions`, WebSocket exception data).
 *
 * @public
 */
export interface WxAnswerBody {
  readonly statusCode: number;
  readonly error: string;
  /** What the client branches on: see {@link WxAnswerCode}. */
  readonly code: WxAnswerCode;
  readonly message: string;
  /** The malformed envelope field, for `WX_MALFORMED_PAYLOAD`. */
  readonly field?: string;
}

/**
 * The one description of a refusal: {@link toContextError} turns it into what the call's context
 * throws.
 *
 * @public
 */
export interface WxAnswer {
  readonly status: number;
  readonly body: WxAnswerBody;
  /** Seconds the client should wait before retrying (HTTP `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

/**
 * The answer for a library error. The specific reason is logged (its code and message carry no
 * secret and no client text), never sent beyond what the table in the README documents:
 *
 * - malformed envelope: 400 naming the field;
 * - no live session: 401 `WX_SESSION_REQUIRED`;
 * - anything key-dependent: one fixed 401 `WX_OPEN_DATA_REJECTED`;
 * - too many evaluations of one key at once: 429 `WX_KEY_BUSY`, `Retry-After: 1`;
 * - WeChat refused a login or phone code (40029, 40163): 401 `WX_CODE_REJECTED`;
 * - WeChat's rate limit (45011): 429; a user WeChat blocks as high-risk (40226): 403;
 * - any other WeChat error, or WeChat unreachable or answering garbage: 502; too slow: 504;
 * - an answer failing the API security checks, or WeChat refusing the request's: 502;
 * - the session store unavailable: 503 `WX_SESSION_STORE_UNAVAILABLE` with `Retry-After` (an
 *   outage is logged once a second at most, with a count);
 * - a configuration error that reaches a call (a missing peer, an unsupported context): 500
 *   `WX_SERVER_MISCONFIGURED`, the problem in the log only.
 *
 * {@link WX_ANSWER_CODES} is the mapping of error codes to answer codes.
 *
 * @param where - the call, for the log line: a route pattern, never raw client text
 * @public
 */
export function toWxAnswer(error: WxOpenDataError, logger: Logger, where: string): WxAnswer {
  if (error instanceof WxSessionStoreUnavailableError) {
    logStoreOutage(error, logger, where);
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      body: WX_SESSION_STORE_UNAVAILABLE_BODY,
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  logger.warn(`${where} rejected: ${error.code} (${error.message})`);
  if (error instanceof WxMalformedPayloadError) {
    return answer(HttpStatus.BAD_REQUEST, 'WX_MALFORMED_PAYLOAD', error.message, error.field);
  }
  if (error instanceof WxSessionNotFoundError) return { status: 401, body: WX_SESSION_REQUIRED_BODY };
  if (error instanceof WxKeyAttemptsBusyError) {
    return { status: HttpStatus.TOO_MANY_REQUESTS, body: WX_KEY_BUSY_BODY, retryAfterSeconds: 1 };
  }
  if (error instanceof WxApiLimitError) {
    return answer(
      HttpStatus.BAD_REQUEST,
      'WX_LIMIT_EXCEEDED',
      `${error.field} breaks a WeChat limit: fix the request`,
      error.field,
    );
  }
  if (error instanceof WxApiError) return fromWeChatError(error);
  if (error instanceof WxApiTimeoutError) {
    return answer(HttpStatus.GATEWAY_TIMEOUT, 'WX_API_TIMEOUT', 'WeChat did not answer in time: retry');
  }
  if (error instanceof WxApiSecurityError) {
    return error.code === 'WX_API_ANSWER_REJECTED'
      ? answer(
          HttpStatus.BAD_GATEWAY,
          'WX_API_ANSWER_REJECTED',
          'WeChat answer failed the API security checks: retry later; the server log says more',
        )
      : answer(
          HttpStatus.BAD_GATEWAY,
          'WX_API_SECURITY_REFUSED',
          'WeChat refused the request’s API security: retry later; the server log says what to fix',
        );
  }
  if (error instanceof WxApiUnavailableError) {
    return answer(HttpStatus.BAD_GATEWAY, 'WX_API_UNAVAILABLE', 'WeChat could not be reached: retry later');
  }
  if (error instanceof WxOpenDataConfigError || error instanceof WxUnsupportedContextError) {
    return answer(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'WX_SERVER_MISCONFIGURED',
      'Server misconfigured: do not retry until it is fixed; the server log says what to fix',
    );
  }
  // Every other error is key-dependent: the one uniform answer.
  return { status: HttpStatus.UNAUTHORIZED, body: WX_OPEN_DATA_REJECTED_BODY };
}

/**
 * The HTTP exception for a library error: {@link toWxAnswer}, with `Retry-After` set on
 * `response` when given.
 *
 * @param response - the platform's response (Express or Fastify), for the `Retry-After` header
 * @public
 */
export function toWxHttpException(
  error: WxOpenDataError,
  logger: Logger,
  request: {
    method?: string;
    url?: string;
    route?: { path?: unknown };
    routeOptions?: { url?: unknown };
    headers?: Readonly<Record<string, string | string[] | undefined>>;
  },
  response?: unknown,
): HttpException {
  const where = logContext(httpWhere(request), requestIdOf(request.headers ?? {}, request));
  return toContextError(
    { kind: 'http', headers: {}, body: undefined, holder: request, response, where },
    toWxAnswer(error, logger, where),
  ) as HttpException;
}

/** What the client does about a rejected code: each code comes from its own mini program API. */
const NEW_CODE_ADVICE: Partial<Record<WxApiOperation, string>> = {
  code2Session: 'WeChat rejected the login code: call wx.login again and send the new code',
  getPhoneNumber:
    'WeChat rejected the phone number code: have the user tap the phone number button again and send the new code',
  getPluginOpenPId:
    'WeChat rejected the plugin code: call wx.pluginLogin again and send the new code (a wx.login code is not one)',
};

function fromWeChatError({ errcode, operation }: WxApiError): WxAnswer {
  if (CODE_REJECTED_ERRCODES.has(errcode)) {
    const advice = NEW_CODE_ADVICE[operation] ?? 'WeChat rejected the code: get a new one and send it';
    return answer(HttpStatus.UNAUTHORIZED, 'WX_CODE_REJECTED', advice);
  }
  if (SESSION_KEY_STALE_ERRCODES.has(errcode)) {
    return answer(
      HttpStatus.UNAUTHORIZED,
      'WX_SESSION_KEY_STALE',
      'WeChat no longer holds this session key: call wx.login again',
    );
  }
  if (errcode === RATE_LIMITED_ERRCODE) {
    return answer(
      HttpStatus.TOO_MANY_REQUESTS,
      'WX_RATE_LIMITED',
      'WeChat rate limit reached: wait a minute, then retry',
    );
  }
  if (errcode === HIGH_RISK_USER_ERRCODE) {
    return answer(
      HttpStatus.FORBIDDEN,
      'WX_USER_BLOCKED',
      'WeChat refused this user as high-risk: do not retry',
    );
  }
  return answer(
    HttpStatus.BAD_GATEWAY,
    'WX_API_ERROR',
    `WeChat answered errcode ${errcode}: retry later; the server log says more`,
  );
}

function answer(status: HttpStatus, code: WxAnswerCode, message: string, field?: string): WxAnswer {
  const error = STATUS_NAMES[status] ?? 'Error';
  const body: WxAnswerBody =
    field === undefined
      ? { statusCode: status, error, code, message }
      : { statusCode: status, error, code, message, field };
  return { status, body };
}

const STATUS_NAMES: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]: 'Bad Request',
  [HttpStatus.UNAUTHORIZED]: 'Unauthorized',
  [HttpStatus.FORBIDDEN]: 'Forbidden',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Too Many Requests',
  [HttpStatus.BAD_GATEWAY]: 'Bad Gateway',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'Internal Server Error',
  [HttpStatus.GATEWAY_TIMEOUT]: 'Gateway Timeout',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'Service Unavailable',
};

/** While the store is down every request fails: one log line a second, not one per request. */
const OUTAGE_LOG_INTERVAL_MS = 1000;
let outageLoggedAt = Number.NEGATIVE_INFINITY;
let outageRefusedSinceLog = 0;

function logStoreOutage(error: WxSessionStoreUnavailableError, logger: Logger, where: string): void {
  outageRefusedSinceLog += 1;
  const now = Date.now();
  if (now - outageLoggedAt < OUTAGE_LOG_INTERVAL_MS) return;
  // One line for every request refused since the last: it names the one that wrote it.
  logger.warn(
    `${where} ${outageRefusedSinceLog} request(s) refused with 503: ${error.code} (${error.message})`,
  );
  outageLoggedAt = now;
  outageRefusedSinceLog = 0;
}
