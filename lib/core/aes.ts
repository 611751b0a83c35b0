import type { Decipher } from 'node:crypto';
import { WxDecryptionError, WxMalformedPayloadError, WxSessionKeyError } from './errors.js';
import { ecbDecipher } from './key-cache.js';

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
  if (!isWholeBlocks(ciphertext)) throw new WxDecryptionError();
  const padded = decryptCbcBlocks(ecbDecipher(key), iv, ciphertext);
  const count = pkcs7PaddingLength(padded);
  if (count === 0) throw new WxDecryptionError();
  return padded.subarray(0, padded.length - count);
}

/** Whether `ciphertext` is one or more whole AES blocks (public: its length is no secret). */
export function isWholeBlocks(ciphertext: Uint8Array): boolean {
  return ciphertext.length !== 0 && ciphertext.length % AES_BLOCK_BYTES === 0;
}

/**
 * CBC decryption of whole blocks over an ECB decipher without padding: `P[i] = D(C[i]) ⊕ C[i-1]`,
 * `C[-1]` being the iv. The decipher keeps no state between calls on whole blocks, so one per
 * key can serve every payload (see key-cache.ts). Returns the padded plaintext, a new buffer.
 *
 * @internal
 */
export function decryptCbcBlocks(ecb: Decipher, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  const out = ecb.update(ciphertext);
  const n = out.length;
  if (((out.byteOffset | ciphertext.byteOffset | iv.byteOffset) & 3) === 0) {
    // Aligned (Node's pool and the decipher's output are): four bytes at a time.
    const o = new Int32Array(out.buffer, out.byteOffset, n >> 2);
    const c = new Int32Array(ciphertext.buffer, ciphertext.byteOffset, n >> 2);
    const v = new Int32Array(iv.buffer, iv.byteOffset, 4);
    o[0] = (o[0] as number) ^ (v[0] as number);
    o[1] = (o[1] as number) ^ (v[1] as number);
    o[2] = (o[2] as number) ^ (v[2] as number);
    o[3] = (o[3] as number) ^ (v[3] as number);
    for (let i = 4; i < o.length; i++) o[i] = (o[i] as number) ^ (c[i - 4] as number);
    return out;
  }
  for (let i = 0; i < AES_BLOCK_BYTES; i++) out[i] = (out[i] as number) ^ (iv[i] as number);
  for (let i = AES_BLOCK_BYTES; i < n; i++) {
    out[i] = (out[i] as number) ^ (ciphertext[i - AES_BLOCK_BYTES] as number);
  }
  return out;
}

/**
 * The PKCS#7 padding length of whole decrypted blocks (1 to 16), or 0 when the padding is bad.
 * It reads all 16 trailing bytes whatever the padding length and decides with flags, never a
 * branch or a throw, so its time does not depend on where the padding goes wrong.
 *
 * @internal
 */
export function pkcs7PaddingLength(padded: Uint8Array): number {
  const end = padded.length;
  const count = padded[end - 1] as number;
  let bad = (count === 0 ? 1 : 0) | (count > AES_BLOCK_BYTES ? 1 : 0);
  for (let i = 1; i <= AES_BLOCK_BYTES; i++) {
    const inPadding = i <= count ? 1 : 0;
    bad |= inPadding & (padded[end - i] === count ? 0 : 1);
  }
  return count & (bad - 1);
}
