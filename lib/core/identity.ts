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
 * AES-CBC has no MAC: flipping bits of the iv rewrites the first plaintext block at will, and
 * dropping leading blocks (with a new iv) makes any later block the first: in a user-info payload
 * the first block holds `{"openId":"` and the start of the id, and a payload can be cut so that its
 * first key is renamed to `unionId` with a few chosen characters. So a `unionId` is accepted only
 * when it equals the session's own: a payload carrying a `unionId` is refused when the session has
 * none (code2Session sends a unionid whenever the mini program is bound to an Open Platform
 * account, which is also when WeChat puts one in user info; an app whose sessions have none can
 * not tell a genuine unionId from a forged one).
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
  if (unionId !== undefined && unionId !== identity.unionid) throw new WxIdentityMismatchError('unionId');
}
