import { SetMetadata } from '@nestjs/common';
import type { WxPayloadType } from '../payloads/index.js';

/**
 * Route metadata key of the DTO of `@WxVerified(Dto)` or `@WxPayload(Dto)`: what a custom guard
 * (or {@link WxVerifiedGuard} on a route of your own) reads the payload type from.
 *
 * @public
 */
export const WX_PAYLOAD_TYPE = 'wx:payloadType';

/**
 * Route metadata key of the {@link WxRouteOptions} of `@WxVerified(Dto, options)`.
 *
 * @public
 */
export const WX_ROUTE_OPTIONS = 'wx:routeOptions';

/**
 * Per-route options of `@WxVerified(Dto?, options?)`.
 *
 * @public
 */
export interface WxRouteOptions {
  /**
   * The GraphQL argument that holds the envelope (`rawData`, `signature`, `encryptedData`, `iv`).
   * Default `'input'`. Ignored over HTTP and WebSocket, where the envelope is the body.
   */
  envelopeArg?: string;
  /**
   * With a DTO: a body without `encryptedData`/`iv` passes without open data (`@WxOpenData()` is
   * `undefined`) instead of being refused as malformed; a body with them still goes through the
   * DTO, and its failures count like any other. For routes that take either the encrypted
   * payload or something else (the phone number by `{ code }`). Default `false`.
   */
  payloadOptional?: boolean;
  /**
   * Issue 12. With an encrypted payload: after it decrypted and passed its DTO, WeChat must
   * confirm (checkEncryptedData) that the ciphertext is its own and at most 3 days old, else the
   * uniform 401; WeChat unreachable or too slow is a 502/504, never a pass. WeChat confirms only
   * phone-number data of the old `getPhoneNumber` flow: use it with `WxPhoneNumber`. One WeChat
   * call per request. Default `false`.
   */
  provenance?: boolean;
  /**
   * Issue 12. The body is `{ version, ciphertext }` of the encrypted channel, decrypted with the
   * user's encrypt key of that version (see `WxUserEncryptedBody` for the cipher contract) into
   * the plain object `@WxOpenData()` returns. Set by `@WxUserEncrypted()`. Default `false`.
   */
  userEncrypted?: boolean;
}

/**
 * Names the DTO of a route guarded by {@link WxVerifiedGuard} (or your subclass of it) without
 * `@WxVerified()`: `@UseGuards(MyGuard) @WxPayload(WxUserInfo)`.
 *
 * @public
 */
export function WxPayload(type: WxPayloadType): MethodDecorator & ClassDecorator {
  return SetMetadata(WX_PAYLOAD_TYPE, type);
}
