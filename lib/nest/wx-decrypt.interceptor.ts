import {
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import {
  checkOpenDataIdentity,
  decryptOpenData,
  readEncryptedEnvelope,
  WxMalformedPayloadError,
  WxOpenDataError,
  WxSessionNotFoundError,
} from '../core/index.js';
import { toOpenDataPayload, type WxPayloadType } from '../payloads/index.js';
import type { WxStoredSession } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { toWxHttpException } from './http-errors.js';
import { WX_OPEN_DATA, WX_PAYLOAD_TYPE, WX_SESSION, type WxRequestState } from './request-state.js';

/**
 * Decrypts `encryptedData` + `iv` with the session's key, checks the watermark against the
 * session's mini program and freshness window, binds the payload to the session's user, and
 * turns it into the route's DTO (validated) for `@WxOpenData()`.
 *
 * Runs after {@link WxSignatureGuard}, which finds the session. A route with a DTO requires the
 * encrypted fields; a route without one decrypts them when present and hands over the plain
 * object.
 *
 * @public
 */
@Injectable()
export class WxDecryptInterceptor implements NestInterceptor {
  protected readonly logger = new Logger('WxOpenData');

  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) protected readonly config: WxOpenDataConfig,
    protected readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<WxRequestState>();
    try {
      const session = request[WX_SESSION];
      if (session === undefined) throw new WxSessionNotFoundError('WxSignatureGuard did not run');
      const type = this.reflector.getAllAndOverride<WxPayloadType | undefined>(WX_PAYLOAD_TYPE, [
        context.getHandler(),
        context.getClass(),
      ]);
      const payload = this.openPayload(request, session, type);
      if (payload !== undefined) request[WX_OPEN_DATA] = payload;
    } catch (error) {
      if (error instanceof WxOpenDataError) throw toWxHttpException(error, this.logger, request);
      throw error;
    }
    return next.handle();
  }

  /** Decrypts, checks and converts the body's payload; `undefined` when there is none. */
  protected openPayload(
    request: WxRequestState,
    session: WxStoredSession,
    type: WxPayloadType | undefined,
  ): object | undefined {
    const envelope = readEncryptedEnvelope(request.body);
    if (envelope === undefined) {
      if (type !== undefined) throw new WxMalformedPayloadError('encryptedData', 'is required');
      return undefined;
    }
    const plain = decryptOpenData(
      { ...envelope, sessionKey: session.sessionKey },
      {
        appId: session.appId,
        maxAgeSeconds: this.config.watermarkMaxAgeSeconds,
        clockToleranceSeconds: this.config.clockToleranceSeconds,
      },
    );
    checkOpenDataIdentity(plain, session);
    return type === undefined ? plain : toOpenDataPayload(type, plain);
  }
}
