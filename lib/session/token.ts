import { randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * A new session token: 256 bits from the CSPRNG, base64url without padding (43 characters).
 *
 * @public
 */
export function createSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Whether `value` has the shape of a token this library issues; anything else is refused before
 * it reaches the store.
 *
 * @public
 */
export function isSessionToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value);
}
