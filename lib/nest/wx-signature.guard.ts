import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { readSignedRawData, verifySignature, WxSignatureError } from '../core/index.js';
import type { WxActiveSession } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { rejectionFor } from './rejection.js';
import { attachSession, type WxRequestState } from './request-state.js';
import { WxSessionService } from './wx-session.service.js';

/**
 * Lets a request through only with a live session, and, when the body carries `rawData` and
 * `signature`, only when `signature == sha1(rawData + session_key)` (constant-time, on the
 * exact string received). Leaves the session on the request for the interceptor and
 * `@WxSession()`. A signature failure counts towards the session's `maxKeyFailures`; a session
 * store that cannot answer makes it refuse with 503 and `Retry-After`.
 *
 * Extend it and override the `protected` hooks to read the request or the token differently.
 *
 * @public
 */
@Injectable()
export class WxSignatureGuard implements CanActivate {
  protected readonly logger = new Logger('WxOpenData');

  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) protected readonly config: WxOpenDataConfig,
    protected readonly sessions: WxSessionService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = this.getRequest(context);
    let session: WxActiveSession | undefined;
    let token: string | undefined;
    try {
      token = this.getSessionToken(request);
      session = await this.sessions.require(token);
      this.verifyRawData(request, session);
      attachSession(request, session, token as string);
      return true;
    } catch (error) {
      // A store that cannot answer is a 503, never "no session" and never a pass.
      throw await rejectionFor(error, {
        sessions: this.sessions,
        logger: this.logger,
        request,
        response: context.switchToHttp().getResponse<unknown>(),
        session,
        token,
      });
    }
  }

  /** The HTTP request of this execution context. */
  protected getRequest(context: ExecutionContext): WxRequestState {
    return context.switchToHttp().getRequest<WxRequestState>();
  }

  /** The session token of the request; default: the module's `getSessionToken` option. */
  protected getSessionToken(request: WxRequestState): string | undefined {
    return this.config.getSessionToken(request);
  }

  /**
   * Checks `rawData`/`signature` when the body carries them, with the user's key or, within the
   * grace period after a rotation, the previous one.
   */
  protected verifyRawData(request: WxRequestState, session: WxActiveSession): void {
    const signed = readSignedRawData(request.body);
    if (signed === undefined) return;
    const { rawData, signature } = signed;
    if (verifySignature(rawData, signature, session.sessionKey)) return;
    const previous = session.previousSessionKey;
    if (previous !== undefined && verifySignature(rawData, signature, previous)) return;
    throw new WxSignatureError();
  }
}
