import { AES_BLOCK_BYTES, decryptAes128Cbc } from './aes.js';
import { decodeBase64Field, decodeStrictBase64 } from './base64.js';
import { WxDecryptionError, WxSessionKeyError } from './errors.js';
import { parseJsonWithoutPrototypeKeys } from './json.js';
import { checkWatermark, type WxWatermarkCheck, type WxWatermarkFields } from './watermark.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

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
 * JSON parse refusing prototype keys must all succeed on a JSON object (else one
 * {@link WxDecryptionError}, whatever went wrong); the watermark must be present, name
 * `options.appId` when given, and be fresh (else {@link WxWatermarkError}).
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
  const key = typeof input.sessionKey === 'string' ? decodeStrictBase64(input.sessionKey) : undefined;
  if (key === undefined) throw new WxSessionKeyError();
  const payload = parseOpenDataObject(decryptAes128Cbc(ciphertext, key, iv));
  checkWatermark(payload.watermark, options);
  return payload as WxDecryptedOpenData<T>;
}

/** Strict UTF-8 and safe JSON, failing exactly like bad padding: which step failed is secret. */
function parseOpenDataObject(plaintext: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonWithoutPrototypeKeys(utf8.decode(plaintext));
  } catch {
    throw new WxDecryptionError();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WxDecryptionError();
  }
  return parsed as Record<string, unknown>;
}
