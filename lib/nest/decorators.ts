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
 * Issue 12: the encrypted channel. Requires a session like `@WxVerified()`, and reads the body as
 * `{ version, ciphertext }`, which the mini program encrypted with its latest user encrypt key
 * (`wx.getUserCryptoManager().getLatestUserKey()`). The key of that version is fetched from WeChat
 * (getUserEncryptKey) once per version and kept until it expires. `@WxOpenData()` is the decrypted
 * JSON object. A body that is not `{ version, ciphertext }` is a 400 naming the field; a version
 * WeChat does not list (or expired) and anything that does not decrypt are the uniform 401; 87007
 * / 87009 (stale session key) a 401 asking for `wx.login`; WeChat down a 502/504.
 *
 * @public
 */
export function WxUserEncrypted(): MethodDecorator & ClassDecorator {
  return WxVerified(undefined, { userEncrypted: true });
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
