import type { WxActiveSession } from '../session/index.js';

/**
 * What {@link WxVerifiedGuard} found and verified for one call, kept for the parameter
 * decorators. The session holds the key: it stays here, in a WeakMap no serialiser or logger
 * walks, and the decorators hand out only {@link WxSessionInfo}.
 *
 * @internal
 */
export interface WxVerifiedCall {
  readonly session: WxActiveSession;
  /** The session token, when the identity came from one (not with `resolveIdentity`). */
  readonly token: string | undefined;
  /** The decrypted payload (DTO instance or plain object), or `undefined` when none was sent. */
  readonly openData: unknown;
}

/** Keyed by the call site's holder: gone with the request, nothing written on it. */
const calls = new WeakMap<object, WxVerifiedCall>();

/** @internal */
export function keepVerifiedCall(holder: object, call: WxVerifiedCall): void {
  calls.set(holder, call);
}

/** @internal */
export function verifiedCallOf(holder: object): WxVerifiedCall | undefined {
  return calls.get(holder);
}
