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
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, iv);
    const head = decipher.update(ciphertext);
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    throw new WxDecryptionError();
  }
}
