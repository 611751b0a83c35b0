import { hash, timingSafeEqual } from 'node:crypto';

const SHA1_HEX = /^[0-9a-fA-F]{40}$/;

/** SHA-1 digest size. */
const SHA1_BYTES = 20;
const givenDigest = Buffer.alloc(SHA1_BYTES);
const expectedDigest = Buffer.alloc(SHA1_BYTES);

/**
 * Whether `text` is well-formed UTF-16: no lone surrogate. A lone surrogate has no UTF-8 encoding;
 * Node hashes it as U+FFFD, so `"\uD800"` and `"\uFFFD"` would verify against one signature.
 * (`String.prototype.isWellFormed`, Node 20+, is not in the ES2022 library typings.)
 *
 * @internal
 */
export function isWellFormedText(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Checks a mini program's `signature` over `rawData`: `signature == sha1(rawData + session_key)`.
 *
 * The digest is taken over the exact `rawData` string as received (re-serialising parsed JSON
 * would change key order or escapes and break the check), and compared with
 * `crypto.timingSafeEqual` on two 20-byte buffers.
 *
 * @param rawData - the `rawData` string exactly as the client sent it
 * A `rawData` that is not well-formed UTF-16 (a lone surrogate) returns `false` before any
 * hashing: it has no UTF-8 spelling, and would verify against the signature of U+FFFD.
 *
 * @param signature - 40 hexadecimal characters; anything else returns `false`
 * @param sessionKey - the user's session key, base64 as code2Session returned it
 * @returns whether the signature matches; never throws
 * @public
 */
export function verifySignature(rawData: string, signature: string, sessionKey: string): boolean {
  if (typeof rawData !== 'string' || typeof sessionKey !== 'string') return false;
  if (!isWellFormedText(rawData)) return false;
  // A regular expression, not the decoded length: Node's hex decoder reads only the low byte of
  // each character, so 40 full-width letters would decode to 20 bytes as well.
  if (typeof signature !== 'string' || !SHA1_HEX.test(signature)) return false;
  // Both digests are decoded into two buffers kept for this function (it is synchronous, so no two
  // calls share them): a new Buffer per digest was a third of the check's cost. One-shot `hash`
  // skips the Hash object `createHash` builds, and its hex output decoded is cheaper than its
  // Buffer output.
  givenDigest.write(signature, 'hex');
  expectedDigest.write(hash('sha1', rawData + sessionKey, 'hex'), 'hex');
  const matches = timingSafeEqual(expectedDigest, givenDigest);
  // The expected digest is the valid signature of this rawData: it does not outlive the call.
  expectedDigest.fill(0);
  return matches;
}
