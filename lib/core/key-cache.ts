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
 * A reusable AES-128-CBC decipher of one key, without padding, and the chaining state it holds:
 * after `update` on whole blocks, OpenSSL keeps the last ciphertext block as the iv of the next
 * call. Knowing that state, the next payload's own iv is applied by fixing its first plaintext
 * block (see `decryptCbcBlocks` in aes.ts): every later block is chained natively.
 *
 * @internal
 */
export interface CbcChain {
  readonly decipher: Decipher;
  /** The iv the decipher will apply to the next block it is given. */
  readonly state: Buffer;
}

/**
 * Deciphers by session key (its base64 text, as the session holds it). Building a decipher is most
 * of what one decryption costs (the key schedule, and a native object that the garbage collector
 * later has to finalise), so one per key serves every payload of that key. Insertion order is kept
 * (a Map): when full, the oldest entry goes first. Entries leave when the session layer calls
 * {@link forgetSessionKey}.
 */
const deciphers = new Map<string, CbcChain>();

/**
 * The decipher of `sessionKey`, from the cache or built now; `undefined` when the key is not
 * canonical base64 of 16 bytes (such a key is never cached).
 *
 * @internal
 */
export function sessionKeyDecipher(sessionKey: unknown): CbcChain | undefined {
  if (typeof sessionKey !== 'string') return undefined;
  const cached = deciphers.get(sessionKey);
  if (cached !== undefined) return cached;
  const key = decodeStrictBase64(sessionKey);
  if (key === undefined || key.length !== SESSION_KEY_BYTES) return undefined;
  const decipher = cbcChain(key);
  if (deciphers.size >= SESSION_KEY_CACHE_ENTRIES) {
    const oldest = deciphers.keys().next();
    if (oldest.done !== true) deciphers.delete(oldest.value);
  }
  deciphers.set(sessionKey, decipher);
  return decipher;
}

/**
 * A new AES-128-CBC decipher of `key` without padding (`update` on whole blocks returns them all
 * at once and keeps nothing back), its chaining state the zero block.
 *
 * @internal
 */
export function cbcChain(key: Uint8Array): CbcChain {
  const state = Buffer.alloc(SESSION_KEY_BYTES);
  return { decipher: createDecipheriv('aes-128-cbc', key, state).setAutoPadding(false), state };
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
