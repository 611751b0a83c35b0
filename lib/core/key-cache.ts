import { createDecipheriv, type Decipher } from 'node:crypto';
import { decodeStrictBase64 } from './base64.js';

/** A session key is 16 bytes: AES-128. */
const SESSION_KEY_BYTES = 16;

/**
 * How many session keys keep a ready decipher. Each entry is a native cipher context of a few
 * hundred bytes; 4,096 of them cover the users active in a few minutes on one instance.
 */
export const SESSION_KEY_CACHE_ENTRIES = 4096;

/**
 * AES-128-ECB deciphers, without padding, by session key (its base64 text, as the session holds
 * it). Building a decipher is most of what one decryption costs (the key schedule and a native
 * object that the garbage collector later has to finalise); an ECB decipher keeps no state between
 * calls of `update` on whole blocks, so one per key serves every payload of that key, and CBC is
 * chained in JavaScript (see aes.ts). Insertion order is kept (a Map): when full, the oldest entry
 * goes first. Entries leave when the session layer calls {@link forgetSessionKey}.
 */
const deciphers = new Map<string, Decipher>();

/**
 * The ECB decipher of `sessionKey`, from the cache or built now; `undefined` when the key is not
 * canonical base64 of 16 bytes (such a key is never cached).
 *
 * @internal
 */
export function sessionKeyDecipher(sessionKey: unknown): Decipher | undefined {
  if (typeof sessionKey !== 'string') return undefined;
  const cached = deciphers.get(sessionKey);
  if (cached !== undefined) return cached;
  const key = decodeStrictBase64(sessionKey);
  if (key === undefined || key.length !== SESSION_KEY_BYTES) return undefined;
  const decipher = ecbDecipher(key);
  if (deciphers.size >= SESSION_KEY_CACHE_ENTRIES) {
    const oldest = deciphers.keys().next();
    if (oldest.done !== true) deciphers.delete(oldest.value);
  }
  deciphers.set(sessionKey, decipher);
  return decipher;
}

/**
 * An AES-128-ECB decipher of `key` without padding: `update` on whole blocks returns them all
 * at once and keeps nothing back.
 *
 * @internal
 */
export function ecbDecipher(key: Uint8Array): Decipher {
  return createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
}

/**
 * Drops the decipher kept for `sessionKey`, if any. {@link decryptOpenData} keeps a ready
 * decipher per session key (bounded); call this when a key leaves your session store (logout,
 * revocation, a newer login's key replacing it, expiry) so that no cipher state of a dead key
 * stays in memory. The Nest module calls it for you.
 *
 * @param sessionKey - the key exactly as given to {@link decryptOpenData} (base64)
 * @public
 */
export function forgetSessionKey(sessionKey: string): void {
  deciphers.delete(sessionKey);
}

/**
 * Whether a decipher is kept for `sessionKey`: for tests.
 *
 * @internal
 */
export function isSessionKeyCached(sessionKey: string): boolean {
  return deciphers.has(sessionKey);
}
