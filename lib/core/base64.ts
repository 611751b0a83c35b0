import { WxMalformedPayloadError } from './errors.js';

/**
 * Decodes canonical base64 (RFC 4648 §4, padded) or returns `undefined`.
 *
 * Node's decoder is lenient: it skips spaces and unknown characters, accepts base64url and
 * missing padding, and drops non-zero trailing bits. Re-encoding and comparing turns it strict,
 * since only the canonical spelling survives the round trip. Mini program payloads are always
 * canonical; every deviation seen in production (a `+` turned into a space by form decoding,
 * base64url, stripped padding) means the value was mangled on the way, and repairing it would
 * only move the failure to the decipher.
 *
 * @internal
 */
export function decodeStrictBase64(value: string): Buffer | undefined {
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}

/**
 * Decodes a request field as canonical base64, optionally of an exact byte length.
 *
 * @throws {@link WxMalformedPayloadError} naming the field
 * @internal
 */
export function decodeBase64Field(field: string, value: unknown, exactBytes?: number): Buffer {
  if (typeof value !== 'string') throw new WxMalformedPayloadError(field, 'must be a string');
  const bytes = decodeStrictBase64(value);
  if (bytes === undefined) throw new WxMalformedPayloadError(field, 'must be canonical base64');
  if (exactBytes !== undefined && bytes.length !== exactBytes) {
    throw new WxMalformedPayloadError(field, `must decode to ${exactBytes} bytes`);
  }
  return bytes;
}
