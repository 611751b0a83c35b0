import { createDecipheriv } from 'node:crypto';
import { WxDecryptionError, WxMalformedPayloadError, WxSessionKeyError } from './errors.js';

/** AES block size, and the exact size of a WeChat session key and iv. */
export const AES_BLOCK_BYTES = 16;

/**
 * AES-128-CBC decryption with PKCS#7 padding, as WeChat specifies for open data.
 *
 * Every failure that depends on the key (a ciphertext that is empty or not whole blocks, bad
 * padding) is the same {@link WxDecryptionError}. Keys of any size but 16 bytes are refused
 * before the cipher runs, so a 24- or 32-byte value never silently selects AES-192 or AES-256.
 *
 * @throws {@link WxSessionKeyError} when the key is not 16 bytes
 * @throws {@link WxMalformedPayloadError} when the iv is not 16 bytes
 * @throws {@link WxDecryptionError} on any other failure
 * @public
 */
export function decryptAes128Cbc(ciphertext: Uint8Array, key: Uint8Array, iv: Uint8Array): Buffer {
  if (key.length !== AES_BLOCK_BYTES) throw new WxSessionKeyError();
  if (iv.length !== AES_BLOCK_BYTES) throw new WxMalformedPayloadError('iv', 'must decode to 16 bytes');
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK_BYTES !== 0) {
    throw new WxDecryptionError();
  }
  // Without OpenSSL's padding, whole blocks in give whole blocks out in one `update`: no `final`,
  // no concatenation of its held-back last block. The padding is then checked here.
  const padded = createDecipheriv('aes-128-cbc', key, iv).setAutoPadding(false).update(ciphertext);
  return stripPkcs7(padded);
}

/**
 * Removes PKCS#7 padding. The check reads all 16 trailing bytes whatever the padding length, so
 * its time does not depend on where the padding goes wrong.
 */
function stripPkcs7(padded: Buffer): Buffer {
  const end = padded.length;
  const count = padded[end - 1] as number;
  let bad = (count === 0 ? 1 : 0) | (count > AES_BLOCK_BYTES ? 1 : 0);
  for (let i = 1; i <= AES_BLOCK_BYTES; i++) {
    const inPadding = i <= count ? 1 : 0;
    bad |= inPadding & (padded[end - i] === count ? 0 : 1);
  }
  if (bad !== 0) throw new WxDecryptionError();
  return padded.subarray(0, end - count);
}
