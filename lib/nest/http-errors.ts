import { HttpException, HttpStatus, type Logger } from '@nestjs/common';
import { WxApiError, WxApiTimeoutError, WxApiUnavailableError } from '../api/index.js';
import type { WxOpenDataError } from '../core/index.js';
import { WxMalformedPayloadError, WxSessionNotFoundError } from '../core/index.js';
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

/** WeChat errcodes that mean "this login or phone code is no good": the client must get a new one. */
const CODE_REJECTED_ERRCODES = new Set([40029, 40163]);
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
 * - any other WeChat error, or WeChat unreachable or answering garbage: 502; too slow: 504.
 *
 * @public
 */
export function toWxHttpException(
  error: WxOpenDataError,
  logger: Logger,
  request: WxRequestState,
): HttpException {
  const path = (request.url ?? '').split('?')[0];
  logger.warn(`${request.method ?? ''} ${path} rejected: ${error.code} (${error.message})`);
  if (error instanceof WxMalformedPayloadError) {
    return reply(HttpStatus.BAD_REQUEST, 'WX_MALFORMED_PAYLOAD', error.message, { field: error.field });
  }
  if (error instanceof WxSessionNotFoundError) return new HttpException({ ...WX_SESSION_REQUIRED_BODY }, 401);
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
};
