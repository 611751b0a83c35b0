import { HttpException, HttpStatus, type Logger } from '@nestjs/common';
import { WxApiError, WxApiLimitError, WxApiTimeoutError, WxApiUnavailableError } from '../api/index.js';
import type { WxOpenDataError } from '../core/index.js';
import { WxMalformedPayloadError, WxSessionNotFoundError } from '../core/index.js';
import { WxSessionStoreUnavailableError } from '../session/index.js';
import type { WxRequestState } from './request-state.js';

/**
 * The one body every key-dependent failure gets (padding, UTF-8, JSON, watermark, signature,
 * identity, DTO validation of decrypted data): nothing outside can tell them apart.
 *
 * @public
 */
export const WX_OPEN_DATA_REJECTED_BODY = Object.freeze({
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_OPEN_DATA_REJECTED',
  message: 'WeChat open data rejected',
});

/**
 * The body of a request without a live session: log in (again) with `wx.login`.
 *
 * @public
 */
export const WX_SESSION_REQUIRED_BODY = Object.freeze({
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_SESSION_REQUIRED',
  message: 'WeChat session required',
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
  code: 'WX_SESSION_STORE_UNAVAILABLE',
  message: 'Session store unavailable, retry shortly',
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
 * The HTTP answer for a library error. The specific reason is logged (its code and message carry
 * no secret), never sent beyond what the table in the README documents:
 *
 * - malformed envelope: 400 naming the field;
 * - no live session: 401 `WX_SESSION_REQUIRED`;
 * - anything key-dependent: one fixed 401 `WX_OPEN_DATA_REJECTED`;
 * - WeChat refused a login or phone code (40029, 40163): 401 `WX_CODE_REJECTED`;
 * - WeChat's rate limit (45011): 429; a user WeChat blocks as high-risk (40226): 403;
 * - any other WeChat error, or WeChat unreachable or answering garbage: 502; too slow: 504;
 * - the session store unavailable: 503 `WX_SESSION_STORE_UNAVAILABLE`, with `Retry-After` set
 *   on `response` when given (an outage is logged once a second at most, with a count).
 *
 * @param response - the platform's response (Express or Fastify), for the `Retry-After` header
 * @public
 */
export function toWxHttpException(
  error: WxOpenDataError,
  logger: Logger,
  request: WxRequestState,
  response?: unknown,
): HttpException {
  if (error instanceof WxSessionStoreUnavailableError) {
    logStoreOutage(error, logger);
    setHeader(response, 'Retry-After', String(error.retryAfterSeconds));
    return new HttpException({ ...WX_SESSION_STORE_UNAVAILABLE_BODY }, HttpStatus.SERVICE_UNAVAILABLE);
  }
  const path = (request.url ?? '').split('?')[0];
  logger.warn(`${request.method ?? ''} ${path} rejected: ${error.code} (${error.message})`);
  if (error instanceof WxMalformedPayloadError) {
    return reply(HttpStatus.BAD_REQUEST, 'WX_MALFORMED_PAYLOAD', error.message, { field: error.field });
  }
  if (error instanceof WxSessionNotFoundError) return new HttpException({ ...WX_SESSION_REQUIRED_BODY }, 401);
  if (error instanceof WxApiLimitError) {
    return reply(
      HttpStatus.BAD_REQUEST,
      'WX_LIMIT_EXCEEDED',
      `${error.field} breaks a WeChat limit: fix the request`,
      {
        field: error.field,
      },
    );
  }
  if (error instanceof WxApiError) return fromWeChatErrcode(error.errcode);
  if (error instanceof WxApiTimeoutError) {
    return reply(HttpStatus.GATEWAY_TIMEOUT, 'WX_API_TIMEOUT', 'WeChat did not answer in time');
  }
  if (error instanceof WxApiUnavailableError) {
    return reply(HttpStatus.BAD_GATEWAY, 'WX_API_UNAVAILABLE', 'WeChat could not be reached');
  }
  return new HttpException({ ...WX_OPEN_DATA_REJECTED_BODY }, HttpStatus.UNAUTHORIZED);
}

function fromWeChatErrcode(errcode: number): HttpException {
  if (CODE_REJECTED_ERRCODES.has(errcode)) {
    return reply(
      HttpStatus.UNAUTHORIZED,
      'WX_CODE_REJECTED',
      'WeChat rejected the code: call wx.login again',
    );
  }
  if (SESSION_KEY_STALE_ERRCODES.has(errcode)) {
    return reply(
      HttpStatus.UNAUTHORIZED,
      'WX_SESSION_KEY_STALE',
      'WeChat no longer holds this session key: call wx.login again',
    );
  }
  if (errcode === RATE_LIMITED_ERRCODE) {
    return reply(
      HttpStatus.TOO_MANY_REQUESTS,
      'WX_RATE_LIMITED',
      'WeChat rate limit reached, try again later',
    );
  }
  if (errcode === HIGH_RISK_USER_ERRCODE) {
    return reply(HttpStatus.FORBIDDEN, 'WX_USER_BLOCKED', 'WeChat refused this user');
  }
  return reply(HttpStatus.BAD_GATEWAY, 'WX_API_ERROR', `WeChat answered errcode ${errcode}`);
}

function reply(
  status: HttpStatus,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): HttpException {
  const error = STATUS_NAMES[status] ?? 'Error';
  return new HttpException({ statusCode: status, error, code, message, ...extra }, status);
}

const STATUS_NAMES: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]: 'Bad Request',
  [HttpStatus.UNAUTHORIZED]: 'Unauthorized',
  [HttpStatus.FORBIDDEN]: 'Forbidden',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Too Many Requests',
  [HttpStatus.BAD_GATEWAY]: 'Bad Gateway',
  [HttpStatus.GATEWAY_TIMEOUT]: 'Gateway Timeout',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'Service Unavailable',
};

/** While the store is down every request fails: one log line a second, not one per request. */
const OUTAGE_LOG_INTERVAL_MS = 1000;
let outageLoggedAt = Number.NEGATIVE_INFINITY;
let outageRefusedSinceLog = 0;

function logStoreOutage(error: WxSessionStoreUnavailableError, logger: Logger): void {
  outageRefusedSinceLog += 1;
  const now = Date.now();
  if (now - outageLoggedAt < OUTAGE_LOG_INTERVAL_MS) return;
  logger.warn(`${outageRefusedSinceLog} request(s) refused with 503: ${error.code} (${error.message})`);
  outageLoggedAt = now;
  outageRefusedSinceLog = 0;
}

/** Sets a header on an Express response or a Fastify reply (both have `header`), or a Node one. */
function setHeader(response: unknown, name: string, value: string): void {
  if (typeof response !== 'object' || response === null) return;
  const target = response as {
    header?: (name: string, value: string) => unknown;
    setHeader?: (name: string, value: string) => unknown;
  };
  if (typeof target.header === 'function') target.header(name, value);
  else if (typeof target.setHeader === 'function') target.setHeader(name, value);
}
