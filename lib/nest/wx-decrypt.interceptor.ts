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
  WxSessionNotFoundError,
  type WxEncryptedEnvelope,
} from '../core/index.js';
import { toOpenDataPayload, type WxPayloadType } from '../payloads/index.js';
import type { WxActiveSession } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { rejectionFor } from './rejection.js';
import {
  WX_OPEN_DATA,
  WX_PAYLOAD_TYPE,
  WX_SESSION,
  WX_SESSION_TOKEN,
  type WxRequestState,
} from './request-state.js';
import { WxSessionService } from './wx-session.service.js';

/**
 * Decrypts `encryptedData` + `iv` with the session's key, checks the watermark against the
 * session's mini program and freshness window, binds the payload to the session's user, and
 * turns it into the route's DTO (validated) for `@WxOpenData()`.
 *
 * Runs after {@link WxSignatureGuard}, which finds the session. A route with a DTO requires the
 * encrypted fields; a route without one decrypts them when present and hands over the plain
 * object. A payload that passed every check is then accepted once (`replayProtection`): a
 * replay gets the same uniform 401 as a key-dependent failure. Key-dependent failures count
 * towards the session's `maxKeyFailures`.
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

  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<WxRequestState>();
    const session = request[WX_SESSION];
    let payload: object | undefined;
    try {
      if (session === undefined) throw new WxSessionNotFoundError('WxSignatureGuard did not run');
      const type = this.reflector.getAllAndOverride<WxPayloadType | undefined>(WX_PAYLOAD_TYPE, [
        context.getHandler(),
        context.getClass(),
      ]);
      payload = this.openPayload(request, session, type);
    } catch (error) {
      return this.reject(error, context, request);
    }
    if (payload === undefined) return next.handle();
    // Without replay protection nothing is left to wait for: no promise on the hot path.
    if (!this.config.replayProtection) {
      request[WX_OPEN_DATA] = payload;
      return next.handle();
    }
    return this.acceptOnce(context, next, request, payload);
  }

  /** Marks the payload as accepted, last, once everything else passed; then hands it over. */
  private async acceptOnce(
    context: ExecutionContext,
    next: CallHandler,
    request: WxRequestState,
    payload: object,
  ): Promise<Observable<unknown>> {
    try {
      const envelope = readEncryptedEnvelope(request.body);
      if (envelope !== undefined) await this.sessions.acceptPayload(envelope);
    } catch (error) {
      return this.reject(error, context, request);
    }
    request[WX_OPEN_DATA] = payload;
    return next.handle();
  }

  /** Throws the HTTP answer for `error`, once a key-dependent failure has been counted. */
  private async reject(error: unknown, context: ExecutionContext, request: WxRequestState): Promise<never> {
    throw await rejectionFor(error, {
      sessions: this.sessions,
      logger: this.logger,
      request,
      response: context.switchToHttp().getResponse<unknown>(),
      session: request[WX_SESSION],
      token: request[WX_SESSION_TOKEN],
    });
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
