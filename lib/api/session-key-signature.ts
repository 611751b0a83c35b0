import { createHmac } from 'node:crypto';

/**
 * The `signature` of checksession and resetusersessionkey: hex HMAC-SHA256 of `message` keyed
 * with the session key **as its base64 text** (the UTF-8 bytes of the string, not the 16 bytes
 * it decodes to), as WeChat's worked example shows. Those calls sign the empty message.
 *
 * @param sessionKey - the user's session key, base64 as code2Session returned it
 * @param message - what to sign; `''` for checksession and resetusersessionkey
 * @returns 64 lower-case hexadecimal characters
 * @public
 */
export function sessionKeySignature(sessionKey: string, message = ''): string {
  return createHmac('sha256', Buffer.from(sessionKey, 'utf8')).update(message, 'utf8').digest('hex');
}
