import { WxIdentityMismatchError } from './errors.js';

/**
 * The user a session belongs to, as code2Session named them.
 *
 * @public
 */
export interface WxUserIdentity {
  openid: string;
  unionid?: string;
}

/**
 * Requires a decrypted payload's `openId` and `unionId`, where present, to be the session's own.
 *
 * AES-CBC has no MAC: flipping bits of the iv rewrites the first plaintext block at will, and in
 * a user-info payload that block holds the start of `openId`. Binding the payload to the session
 * closes that door. A `unionId` is compared only when the session knows one (code2Session sends
 * it only for apps bound to an Open Platform account).
 *
 * @throws {@link WxIdentityMismatchError}
 * @public
 */
export function checkOpenDataIdentity(
  payload: Readonly<Record<string, unknown>>,
  identity: WxUserIdentity,
): void {
  const { openId, unionId } = payload;
  if (openId !== undefined && openId !== identity.openid) throw new WxIdentityMismatchError('openId');
  if (unionId !== undefined && identity.unionid !== undefined && unionId !== identity.unionid) {
    throw new WxIdentityMismatchError('unionId');
  }
}
