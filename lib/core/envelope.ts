import { WxMalformedPayloadError } from './errors.js';
import { isWellFormedText } from './signature.js';

/**
 * Size limits of the envelope fields, in characters. Genuine open data stays far below them
 * (a user-info payload is about 600 base64 characters); anything larger is refused as malformed
 * before any decoding.
 *
 * @public
 */
export const WX_ENVELOPE_LIMITS = Object.freeze({
  rawData: 4096,
  signature: 128,
  encryptedData: 8192,
  iv: 64,
});

/**
 * The signed half of an open-data request body.
 *
 * @public
 */
export interface WxSignedRawData {
  rawData: string;
  signature: string;
}

/**
 * The encrypted half of an open-data request body.
 *
 * @public
 */
export interface WxEncryptedEnvelope {
  encryptedData: string;
  iv: string;
}

/**
 * Reads `rawData` + `signature` from a request body: `undefined` when neither is there.
 *
 * @throws {@link WxMalformedPayloadError} when only one is there, or one is not a string or too
 *   long, or `rawData` is not well-formed UTF-16 (a lone surrogate): refused before any key is used
 * @public
 */
export function readSignedRawData(body: unknown): WxSignedRawData | undefined {
  const pair = readPair(body, 'rawData', 'signature');
  if (pair === undefined) return undefined;
  if (!isWellFormedText(pair[0])) {
    throw new WxMalformedPayloadError(
      'rawData',
      'must be well-formed text (a lone surrogate has no UTF-8 form): send wx.getUserInfo’s rawData unchanged',
    );
  }
  return { rawData: pair[0], signature: pair[1] };
}

/**
 * Reads `encryptedData` + `iv` from a request body: `undefined` when neither is there.
 *
 * @throws {@link WxMalformedPayloadError} when only one is there, or one is not a string or too long
 * @public
 */
export function readEncryptedEnvelope(body: unknown): WxEncryptedEnvelope | undefined {
  const pair = readPair(body, 'encryptedData', 'iv');
  return pair && { encryptedData: pair[0], iv: pair[1] };
}

type EnvelopeField = keyof typeof WX_ENVELOPE_LIMITS;

function readPair(body: unknown, first: EnvelopeField, second: EnvelopeField): [string, string] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const a = Object.hasOwn(record, first) ? record[first] : undefined;
  const b = Object.hasOwn(record, second) ? record[second] : undefined;
  if (a === undefined && b === undefined) return undefined;
  return [readField(first, a), readField(second, b)];
}

function readField(field: EnvelopeField, value: unknown): string {
  if (value === undefined) throw new WxMalformedPayloadError(field, 'is required');
  if (typeof value !== 'string') throw new WxMalformedPayloadError(field, 'must be a string');
  if (value.length > WX_ENVELOPE_LIMITS[field]) {
    throw new WxMalformedPayloadError(field, `must be at most ${WX_ENVELOPE_LIMITS[field]} characters`);
  }
  return value;
}
