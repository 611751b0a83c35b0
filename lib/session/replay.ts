import { createHash } from 'node:crypto';

/**
 * The replay-cache fingerprint of an encrypted payload: SHA-256 of its `encryptedData` (base64url,
 * 43 characters). Never the plaintext, so the replay cache holds nothing readable.
 *
 * The iv is left out on purpose. AES-CBC has no MAC: changing the iv rewrites only the first
 * plaintext block, so with the iv in the hash, a copy of an accepted payload with a few iv bits
 * flipped (a changed first character of a nickname, say) would count as a new payload. Without
 * it, every variant that decrypts to the same blocks after the first is the same payload. The
 * decrypted text is validated strictly elsewhere; canonical base64 means one ciphertext has one
 * spelling.
 *
 * @public
 */
export function openDataFingerprint(envelope: { readonly encryptedData: string }): string {
  return createHash('sha256').update(envelope.encryptedData, 'latin1').digest('base64url');
}
