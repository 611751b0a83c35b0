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
  WxDecryptionError,
  WxMalformedPayloadError,
  WxOpenDataError,
  WxSessionNotFoundError,
  type WxEncryptedEnvelope,
} from '../core/index.js';
import { toOpenDataPayload, type WxPayloadType } from '../payloads/index.js';
import type { WxActiveSession } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { toWxHttpException } from './http-errors.js';
import { WX_OPEN_DATA, WX_PAYLOAD_TYPE, WX_SESSION, type WxRequestState } from './request-state.js';
import { WxSessionService } from './wx-session.service.js';

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
    protected readonly sessions: WxSessionService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<WxRequestState>();
    const session = request[WX_SESSION];
    try {
      if (session === undefined) throw new WxSessionNotFoundError('WxSignatureGuard did not run');
      const type = this.reflector.getAllAndOverride<WxPayloadType | undefined>(WX_PAYLOAD_TYPE, [
        context.getHandler(),
        context.getClass(),
      ]);
      const payload = this.openPayload(request, session, type);
      if (payload !== undefined) request[WX_OPEN_DATA] = payload;
    } catch (error) {
      if (!(error instanceof WxOpenDataError)) throw error;
      if (error.keyDependent && session !== undefined) this.sessions.reportKeyFailure(session);
      throw toWxHttpException(error, this.logger, request);
    }
    return next.handle();
  }

  /** Decrypts, checks and converts the body's payload; `undefined` when there is none. */
  protected openPayload(
    request: WxRequestState,
    session: WxActiveSession,
    type: WxPayloadType | undefined,
  ): object | undefined {
    const envelope = readEncryptedEnvelope(request.body);
    if (envelope === undefined) {
      if (type !== undefined) throw new WxMalformedPayloadError('encryptedData', 'is required');
      return undefined;
    }
    const plain = this.decrypt(envelope, session);
    checkOpenDataIdentity(plain, session);
    return type === undefined ? plain : toOpenDataPayload(type, plain);
  }

  /** With the user's key or, within the grace period after a rotation, the previous one. */
  private decrypt(envelope: WxEncryptedEnvelope, session: WxActiveSession): Record<string, unknown> {
    const check = {
      appId: session.appId,
      maxAgeSeconds: this.config.watermarkMaxAgeSeconds,
      clockToleranceSeconds: this.config.clockToleranceSeconds,
    };
    try {
      return decryptOpenData({ ...envelope, sessionKey: session.sessionKey }, check);
    } catch (error) {
      const previous = session.previousSessionKey;
      if (!(error instanceof WxDecryptionError) || previous === undefined) throw error;
      return decryptOpenData({ ...envelope, sessionKey: previous }, check);
    }
  }
}
