import { isAscii, isUtf8 } from 'node:buffer';
import { AES_BLOCK_BYTES, decryptCbcBlocks, isWholeBlocks, pkcs7PaddingLength } from './aes.js';
import { decodeBase64Field } from './base64.js';
import { WxDecryptionError, WxSessionKeyError } from './errors.js';
import { countParsedKeys, scanJsonObject } from './json.js';
import { sessionKeyDecipher } from './key-cache.js';
import { checkWatermark, type WxWatermarkCheck, type WxWatermarkFields } from './watermark.js';

/**
 * What the mini program sent, plus the key of the session it belongs to.
 *
 * @public
 */
export interface WxEncryptedOpenData {
  /** Base64 ciphertext, as `encryptedData` arrives from the client. */
  encryptedData: string;
  /** Base64 of the 16-byte initialisation vector. */
  iv: string;
  /** Base64 of the user's 16-byte session key, from the server-side session. */
  sessionKey: string;
}

/**
 * Options of {@link decryptOpenData}: the watermark rules.
 *
 * @public
 */
export type WxDecryptOptions = WxWatermarkCheck;

/**
 * A decrypted payload: its own fields plus the checked watermark.
 *
 * @public
 */
export type WxDecryptedOpenData<T> = T & { watermark: WxWatermarkFields };

/**
 * Decrypts and checks a mini program's `encryptedData`.
 *
 * In order: `encryptedData` and `iv` must be canonical base64 and the iv 16 bytes (else
 * {@link WxMalformedPayloadError}, naming the field); the session key must be base64 of 16
 * bytes (else {@link WxSessionKeyError}); AES-128-CBC with PKCS#7 padding, strict UTF-8 and a
 * strict JSON read (one object, no repeated key, no prototype key) must all succeed (else one
 * {@link WxDecryptionError}, whatever went wrong); the watermark must be present, name
 * `options.appId` when given, and be fresh (else {@link WxWatermarkError}).
 *
 * A ready decipher is kept per session key (bounded): call {@link forgetSessionKey} when a key
 * leaves your store.
 *
 * CBC has no integrity check: whoever can flip bits of the iv rewrites the first plaintext
 * block. Callers must still bind the result to the session's user (see
 * {@link checkOpenDataIdentity}).
 *
 * @typeParam T - the payload's shape; not checked here beyond the watermark
 * @public
 */
export function decryptOpenData<T = Record<string, unknown>>(
  input: WxEncryptedOpenData,
  options: WxDecryptOptions = {},
): WxDecryptedOpenData<T> {
  const ciphertext = decodeBase64Field('encryptedData', input.encryptedData);
  const iv = decodeBase64Field('iv', input.iv, AES_BLOCK_BYTES);
  const ecb = sessionKeyDecipher(input.sessionKey);
  if (ecb === undefined) throw new WxSessionKeyError();
  if (!isWholeBlocks(ciphertext)) throw new WxDecryptionError();
  const payload = readPlaintext(decryptCbcBlocks(ecb, iv, ciphertext));
  checkWatermark(payload.watermark, options);
  return payload as WxDecryptedOpenData<T>;
}

/**
 * Padding, strict UTF-8 and strict JSON, failing exactly like one another: which step failed is
 * secret (a padding oracle otherwise). Every step runs whatever the previous ones found, each
 * failure only sets a flag, and one error is thrown at the end: no exception decides a branch.
 */
function readPlaintext(padded: Buffer): Record<string, unknown> {
  const count = pkcs7PaddingLength(padded);
  let ok = count !== 0;
  // With bad padding, the same work is done on the text short of its last block.
  const text = padded.subarray(0, padded.length - (count === 0 ? AES_BLOCK_BYTES : count));
  ok = isUtf8(text) && ok;
  // UTF-8 that is ASCII is latin1, and decodes about ten times faster as such.
  const decoded = text.toString(isAscii(text) ? 'latin1' : 'utf8');
  const keys = scanJsonObject(decoded);
  ok = keys >= 0 && ok;
  if (ok) {
    const parsed = JSON.parse(decoded) as Record<string, unknown>;
    if (countParsedKeys(parsed) === keys) return parsed;
  }
  throw new WxDecryptionError();
}
