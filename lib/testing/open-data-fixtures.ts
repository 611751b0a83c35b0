import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * An encrypted payload as a mini program receives it from WeChat.
 *
 * @public
 */
export interface WxEncryptedFixture {
  encryptedData: string;
  iv: string;
}

/**
 * Encrypts `payload` the way WeChat does for open data: JSON, AES-128-CBC with PKCS#7 padding
 * under the user's session key and a random iv, both base64. For tests and the fake WeChat only.
 *
 * @param payload - the plaintext object, watermark included
 * @param sessionKey - base64 of the 16-byte key
 * @param iv - a fixed iv, for reproducible fixtures; default random
 * @public
 */
export function encryptOpenData(
  payload: object,
  sessionKey: string,
  iv: Buffer = randomBytes(16),
): WxEncryptedFixture {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return { encryptedData: ciphertext.toString('base64'), iv: iv.toString('base64') };
}

/**
 * The signature WeChat attaches to `rawData`: hex `sha1(rawData + session_key)`.
 *
 * @public
 */
export function signRawData(rawData: string, sessionKey: string): string {
  return createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest('hex');
}

/**
 * A fresh random session key, base64 of 16 bytes, as code2Session hands them out.
 *
 * @public
 */
export function createSessionKey(): string {
  return randomBytes(16).toString('base64');
}

/**
 * Encrypts a request for the encrypted channel (`@WxUserEncrypted()`) under the recommended cipher
 * contract: AES-128-CBC, PKCS#7, key = base64-decode(`encryptKey`), iv = the UTF-8 bytes of the
 * 16-character `iv`, base64 output, sent as `{ version, ciphertext }`.
 *
 * @public
 */
export function encryptForUserKey(
  payload: object,
  key: { encryptKey: string; iv: string; version: number },
): { version: number; ciphertext: string } {
  const cipher = createCipheriv(
    'aes-128-cbc',
    Buffer.from(key.encryptKey, 'base64'),
    Buffer.from(key.iv, 'utf8'),
  );
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return { version: key.version, ciphertext: ciphertext.toString('base64') };
}
