import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  UseGuards,
  type ExecutionContext,
} from '@nestjs/common';
import type { WxPayloadType } from '../payloads/index.js';
import { toSessionInfo, type WxSessionInfo } from '../session/index.js';
import { callSiteHolder } from './call-site.js';
import { WX_PAYLOAD_TYPE, WX_ROUTE_OPTIONS, type WxRouteOptions } from './route.js';
import { verifiedCallOf } from './verified-calls.js';
import { WxVerifiedGuard } from './wx-verified.guard.js';

/**
 * Protects a route, resolver, gateway handler or controller with {@link WxVerifiedGuard}: a live
 * session (or the app's own identity, with `resolveIdentity`) is required, `rawData`/`signature`
 * are verified when present, and `encryptedData`/`iv` are decrypted, checked and, with `type`,
 * turned into a validated instance of it for `@WxOpenData()`.
 *
 * @param type - the DTO of the encrypted payload, e.g. `WxUserInfo`; makes the payload required
 *   (unless `options.payloadOptional`)
 * @param options - per-route options, see {@link WxRouteOptions}
 * @public
 */
export function WxVerified(type?: WxPayloadType, options?: WxRouteOptions): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(WX_PAYLOAD_TYPE, type),
    SetMetadata(WX_ROUTE_OPTIONS, options),
    UseGuards(WxVerifiedGuard),
  );
}

/**
 * The decrypted payload of a `@WxVerified()` call: an instance of the route's DTO, the plain
 * object when the route names none, `undefined` when the call carried none.
 *
 * @public
 */
export const WxOpenData = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  return verifiedCallOf(callSiteHolder(context))?.openData;
});

/**
 * The session of a `@WxVerified()` call: `{ openid, unionid, appId }`, never the session key.
 *
 * @public
 */
export const WxSession = createParamDecorator(
  (_data: unknown, context: ExecutionContext): WxSessionInfo | undefined => {
    const call = verifiedCallOf(callSiteHolder(context));
    return call && toSessionInfo(call.session);
  },
);

/**
 * The session token of a `@WxVerified()` call, e.g. to end the session on logout; `undefined`
 * when the identity came from `resolveIdentity`.
 *
 * @public
 */
export const WxSessionToken = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined => {
    return verifiedCallOf(callSiteHolder(context))?.token;
  },
);
