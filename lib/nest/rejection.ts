import type { Logger } from '@nestjs/common';
import { WxOpenDataError } from '../core/index.js';
import { WxReplayedPayloadError, type WxActiveSession } from '../session/index.js';
import { toWxHttpException } from './http-errors.js';
import type { WxRequestState } from './request-state.js';
import type { WxSessionService } from './wx-session.service.js';

/**
 * Where a request was refused, for {@link rejectionFor}.
 *
 * @internal
 */
export interface WxRejectionScene {
  readonly sessions: WxSessionService;
  readonly logger: Logger;
  readonly request: WxRequestState;
  /** The platform's response, for `Retry-After`. */
  readonly response: unknown;
  /** The session, once the guard found it. */
  readonly session?: WxActiveSession | undefined;
  readonly token?: string | undefined;
}

/**
 * What the guard or interceptor throws for `error`: a library error becomes its HTTP answer, and
 * a key-dependent failure of a known session is counted first (a replay is not: it says nothing
 * about the key). When the failure cannot be counted, the answer is the store's 503, not a 401
 * that would let the attempt go uncounted. Anything else is rethrown as it is.
 *
 * @internal
 */
export async function rejectionFor(error: unknown, scene: WxRejectionScene): Promise<unknown> {
  if (!(error instanceof WxOpenDataError)) return error;
  let answer: WxOpenDataError = error;
  const { session, token } = scene;
  if (error.keyDependent && !(error instanceof WxReplayedPayloadError) && session && token !== undefined) {
    try {
      await scene.sessions.reportKeyFailure(session, token);
    } catch (countError) {
      if (!(countError instanceof WxOpenDataError)) return countError;
      // The original reason still reaches the log.
      toWxHttpException(error, scene.logger, scene.request);
      answer = countError;
    }
  }
  return toWxHttpException(answer, scene.logger, scene.request, scene.response);
}
