import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { WxOpenDataError } from '../core/index.js';
import { toWxHttpException } from './http-errors.js';

/**
 * Answers this library's errors thrown from your own handlers (a login route calling
 * `WxSessionService.login`, a route calling `WxApiClient`) with the documented statuses, and logs
 * the reason without secrets: a login while the session store is down answers 503 with
 * `Retry-After`. Guarded routes need no filter: the guard already answers with HTTP exceptions.
 *
 * ```ts
 * @UseFilters(WxOpenDataExceptionFilter)
 * @Controller('auth')
 * export class AuthController {}
 * ```
 *
 * @public
 */
@Catch(WxOpenDataError)
export class WxOpenDataExceptionFilter
  extends BaseExceptionFilter
  implements ExceptionFilter<WxOpenDataError>
{
  private readonly logger = new Logger('WxOpenData');

  override catch(error: WxOpenDataError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Parameters<typeof toWxHttpException>[2]>();
    super.catch(toWxHttpException(error, this.logger, request, http.getResponse<unknown>()), host);
  }
}
