import { WxDecryptionError, WxMalformedPayloadError, WxSessionKeyError } from './errors.js';
import { cbcChain, type CbcChain } from './key-cache.js';

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
  const padded = decryptCbcBlocks(cbcChain(key), iv, ciphertext);
  const count = pkcs7PaddingLength(padded);
  if (count === 0) throw new WxDecryptionError();
  return padded.subarray(0, padded.length - count);
}

/** Whether `ciphertext` is one or more whole AES blocks (public: its length is no secret). */
export function isWholeBlocks(ciphertext: Uint8Array): boolean {
  return ciphertext.length !== 0 && ciphertext.length % AES_BLOCK_BYTES === 0;
}

/**
 * CBC decryption of whole blocks with a reusable decipher: `P[i] = D(C[i]) ⊕ C[i-1]`, `C[-1]`
 * being `iv`. The decipher applies its own chaining state `S` (the last block it was given) to
 * the first block instead of `iv`, so that block is corrected here (`⊕ S ⊕ iv`); every later block
 * is already right. The new state is then this ciphertext's last block. Returns the padded
 * plaintext, a new buffer.
 *
 * @internal
 */
export function decryptCbcBlocks(chain: CbcChain, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  const { decipher, state } = chain;
  const out = decipher.update(ciphertext);
  for (let i = 0; i < AES_BLOCK_BYTES; i++) {
    out[i] = (out[i] as number) ^ (state[i] as number) ^ (iv[i] as number);
  }
  const last = ciphertext.length - AES_BLOCK_BYTES;
  for (let i = 0; i < AES_BLOCK_BYTES; i++) state[i] = ciphertext[last + i] as number;
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
