import { constants, createCipheriv, createDecipheriv, sign, verify, type KeyObject } from 'node:crypto';
import { decodeStrictBase64 } from '../../core/base64.js';

/**
 * The encrypted body of a request or an answer in WeChat's API security mode: base64 of the
 * 12-byte iv, of the AES-256-GCM ciphertext (without its tag) and of the 16-byte tag.
 *
 * @public
 */
export interface WxApiSecurityEnvelope {
  readonly iv: string;
  readonly data: string;
  readonly authtag: string;
}

/** GCM nonce length WeChat uses. */
export const API_SECURITY_IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** WeChat's requests are signed with RSASSA-PSS, SHA-256, MGF1-SHA-256 and a 32-byte salt. */
const REQUEST_SALT_BYTES = 32;

/**
 * The additional authenticated data of both directions: `urlpath|appid|timestamp|sn`, where
 * `urlpath` is the requested URL without its query and `sn` the symmetric key's number.
 *
 * @internal
 */
export function apiSecurityAad(
  urlPath: string,
  appId: string,
  timestamp: number,
  symmetricKeySn: string,
): string {
  return `${urlPath}|${appId}|${timestamp}|${symmetricKeySn}`;
}

/**
 * The signed string of both directions: `urlpath\nappid\ntimestamp\nbody`, no trailing newline,
 * `body` being the exact bytes sent. The key numbers are not part of it.
 *
 * @internal
 */
export function apiSecuritySignedText(
  urlPath: string,
  appId: string,
  timestamp: number,
  body: string,
): string {
  return `${urlPath}\n${appId}\n${timestamp}\n${body}`;
}

/**
 * Encrypts `plaintext` with AES-256-GCM under `key` (32 bytes), `iv` (12 bytes) and `aad`.
 *
 * @internal
 */
export function sealApiPayload(
  key: Buffer,
  iv: Buffer,
  aad: string,
  plaintext: string,
): WxApiSecurityEnvelope {
  if (key.length !== KEY_BYTES || iv.length !== API_SECURITY_IV_BYTES) {
    throw new RangeError('sealApiPayload: the key must be 32 bytes and the iv 12');
  }
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    data: data.toString('base64'),
    authtag: cipher.getAuthTag().toString('base64'),
  };
}

/**
 * Decrypts an envelope with AES-256-GCM, checking its tag over the ciphertext and `aad`.
 *
 * @returns the plaintext, or `undefined` when the envelope is malformed (not canonical base64,
 * wrong iv or tag length) or does not authenticate
 * @internal
 */
export function openApiPayload(
  key: Buffer,
  envelope: WxApiSecurityEnvelope,
  aad: string,
): string | undefined {
  const iv = decodeStrictBase64(envelope.iv);
  const data = decodeStrictBase64(envelope.data);
  const tag = decodeStrictBase64(envelope.authtag);
  if (iv?.length !== API_SECURITY_IV_BYTES || tag?.length !== TAG_BYTES || data === undefined)
    return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(data);
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plaintext.toString('utf8');
}

/**
 * Signs `text` (UTF-8) with RSASSA-PSS, SHA-256, salt 32, as WeChat requires of requests.
 *
 * @returns the base64 signature
 * @internal
 */
export function signApiText(privateKey: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: REQUEST_SALT_BYTES,
  }).toString('base64');
}

/**
 * Verifies a base64 RSASSA-PSS SHA-256 signature of `text` (UTF-8). The salt length is read from
 * the signature, as WeChat's guide says answers need none given; PKCS#1 v1.5 does not verify.
 *
 * @internal
 */
export function verifyApiText(publicKey: KeyObject, text: string, signature: string): boolean {
  const bytes = decodeStrictBase64(signature);
  if (bytes === undefined || bytes.length === 0) return false;
  return verify(
    'sha256',
    Buffer.from(text, 'utf8'),
    { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
    bytes,
  );
}
