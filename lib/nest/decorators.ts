import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  UseGuards,
  UseInterceptors,
  type ExecutionContext,
} from '@nestjs/common';
import type { WxPayloadType } from '../payloads/index.js';
import { toSessionInfo, type WxSessionInfo } from '../session/index.js';
import {
  WX_OPEN_DATA,
  WX_PAYLOAD_TYPE,
  WX_SESSION,
  WX_SESSION_TOKEN,
  type WxRequestState,
} from './request-state.js';
import { WxDecryptInterceptor } from './wx-decrypt.interceptor.js';
import { WxSignatureGuard } from './wx-signature.guard.js';

/**
 * Protects a route or controller: a live session is required, `rawData`/`signature` are
 * verified when present, and `encryptedData`/`iv` are decrypted, checked and, with `type`,
 * turned into a validated instance of it for `@WxOpenData()`.
 *
 * @param type - the DTO of the encrypted payload, e.g. `WxUserInfo`; makes the payload required
 * @public
 */
export function WxVerified(type?: WxPayloadType): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(WX_PAYLOAD_TYPE, type),
    UseGuards(WxSignatureGuard),
    UseInterceptors(WxDecryptInterceptor),
  );
}

/**
 * The decrypted payload of a `@WxVerified()` route: an instance of the route's DTO, or the plain
 * object when the route names none.
 *
 * @public
 */
export const WxOpenData = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  return context.switchToHttp().getRequest<WxRequestState>()[WX_OPEN_DATA];
});

/**
 * The session of a `@WxVerified()` route: `{ openid, unionid, appId }`, never the session key.
 *
 * @public
 */
export const WxSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): WxSessionInfo | undefined => {
    const session = context.switchToHttp().getRequest<WxRequestState>()[WX_SESSION];
    return session && toSessionInfo(session);
  },
);

/**
 * The session token of a `@WxVerified()` route, e.g. to end the session on logout.
 *
 * @public
 */
export const WxSessionToken = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined => {
    return context.switchToHttp().getRequest<WxRequestState>()[WX_SESSION_TOKEN];
  },
);
