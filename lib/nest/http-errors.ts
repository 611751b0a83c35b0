import { HttpException, HttpStatus, type Logger } from '@nestjs/common';
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

/**
 * The HTTP answer for a library error: 400 naming the field for a malformed envelope, 401
 * "session required" for a missing session, one fixed 401 for everything key-dependent. The
 * specific reason is logged (its code and message carry no secret), never sent.
 *
 * @public
 */
export function toWxHttpException(
  error: WxOpenDataError,
  logger: Logger,
  request: WxRequestState,
): HttpException {
  logger.warn(
    `${request.method ?? ''} ${(request.url ?? '').split('?')[0]} rejected: ${error.code} (${error.message})`,
  );
  if (error instanceof WxMalformedPayloadError) {
    return new HttpException(
      {
        statusCode: 400,
        error: 'Bad Request',
        code: 'WX_MALFORMED_PAYLOAD',
        field: error.field,
        message: error.message,
      },
      HttpStatus.BAD_REQUEST,
    );
  }
  if (error instanceof WxSessionNotFoundError) {
    return new HttpException({ ...WX_SESSION_REQUIRED_BODY }, HttpStatus.UNAUTHORIZED);
  }
  return new HttpException({ ...WX_OPEN_DATA_REJECTED_BODY }, HttpStatus.UNAUTHORIZED);
}
