import type { WxActiveSession } from '../session/index.js';
import type { WxHttpRequest } from './options.js';

/** Where the guard leaves the session on the request; a symbol, so no serialiser walks it. */
export const WX_SESSION = Symbol('wx.session');
/** Where the guard leaves the session token it resolved. */
export const WX_SESSION_TOKEN = Symbol('wx.sessionToken');
/** Where the interceptor leaves the decrypted, validated payload. */
export const WX_OPEN_DATA = Symbol('wx.openData');
/** Route metadata: the DTO class of `@WxVerified(Dto)`. */
export const WX_PAYLOAD_TYPE = 'wx:payloadType';

/**
 * The request as the guard and interceptor see it, on Express and Fastify alike, with what they
 * leave on it.
 *
 * @public
 */
export interface WxRequestState extends WxHttpRequest {
  method?: string;
  url?: string;
  [WX_SESSION]?: WxActiveSession;
  [WX_SESSION_TOKEN]?: string;
  [WX_OPEN_DATA]?: unknown;
}

/**
 * Attaches the session without making it enumerable: the key inside must not reach a logger or
 * serialiser that walks the request.
 */
export function attachSession(request: WxRequestState, session: WxActiveSession, token: string): void {
  Object.defineProperty(request, WX_SESSION, { value: session, enumerable: false, configurable: true });
  Object.defineProperty(request, WX_SESSION_TOKEN, { value: token, enumerable: false, configurable: true });
}
