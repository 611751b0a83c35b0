import { createHash } from 'node:crypto';

/** Whose payload a fingerprint is taken for: the session's mini program and user. */
export interface WxFingerprintOwner {
  readonly appId: string;
  readonly openid: string;
}

/** The size of the AES block the fingerprint is taken of. */
const LAST_BLOCK_BYTES = 16;

/**
 * The replay-cache fingerprint of an encrypted payload: SHA-256 (base64url, 43 characters) of its
 * LAST ciphertext block, bound to the session's mini program and user when `owner` is given.
 * Never the plaintext, so the replay cache holds nothing readable.
 *
 * Why the last block. AES-CBC has no MAC: whoever knows a payload's plaintext can flip iv bits
 * (rewriting the first plaintext block), or drop the first k blocks and send a new iv that makes
 * block k decrypt to 16 bytes of their choice. Any such keyless variant changes the ciphertext and
 * the iv, but it must keep the last block: that block alone carries the padding, and a variant
 * ending elsewhere would need a genuine plaintext block ending in valid PKCS#7 bytes (0x01–0x10,
 * control characters that JSON text never holds). So every variant of an accepted payload has the
 * same fingerprint, and the replay cache lets none of them through after the genuine one.
 * Distinct genuine payloads differ in their last block (WeChat draws a fresh iv each time), and
 * `owner` keeps two users' marks apart whatever their ciphertexts.
 *
 * Call it only for a payload that decrypted (canonical base64 of whole blocks).
 *
 * @param envelope - the payload as received
 * @param owner - the session it was accepted for (the Nest module passes it)
 * @public
 */
export function openDataFingerprint(
  envelope: { readonly encryptedData: string },
  owner?: WxFingerprintOwner,
): string {
  const hash = createHash('sha256');
  if (owner !== undefined) hash.update(`${owner.appId}\n${owner.openid}\n`, 'utf8');
  return hash.update(lastBlock(envelope.encryptedData)).digest('base64url');
}

/** The last 16 bytes of base64 `text`, decoding only the 4-character groups that hold them. */
function lastBlock(text: string): Buffer {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = (text.length / 4) * 3 - padding;
  const firstGroup = Math.max(0, Math.floor((bytes - LAST_BLOCK_BYTES) / 3));
  const tail = Buffer.from(text.slice(firstGroup * 4), 'base64');
  return tail.subarray(Math.max(0, tail.length - LAST_BLOCK_BYTES));
}
