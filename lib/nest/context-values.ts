// What the GraphQL and WebSocket call sites share: the envelope check and the refusal payload.
import { WxMalformedPayloadError } from '../core/index.js';
import type { WxAnswer } from './http-errors.js';

const ENVELOPE_FIELDS = ['rawData', 'signature', 'encryptedData', 'iv'] as const;
const ENVELOPE_FIELD_SET: ReadonlySet<string> = new Set(ENVELOPE_FIELDS);
/** A client's key is echoed in the answer only when it looks like a field name. */
const SAFE_FIELD_NAME = /^[A-Za-z_$][\w$]{0,63}$/;

/**
 * The call-site body of an envelope that did not come as an HTTP body (a GraphQL argument, a
 * WebSocket message): `undefined` when absent, the object itself when it is a plain object
 * holding nothing but `rawData`, `signature`, `encryptedData` and `iv`. Anything else (a string,
 * a list, a stray field) is malformed: the body returned then fails, with a
 * {@link WxMalformedPayloadError} naming `name` or the stray field, the moment the guard reads an
 * envelope field from it, so it is answered in the guard's order (session first) and like a bad
 * HTTP body, and never reaches code that expects an object. `nullMeansAbsent`: GraphQL's `null`
 * for an input field means "no value", so such fields are left out.
 *
 * @internal
 */
export function readEnvelopeArgument(value: unknown, name: string, nullMeansAbsent: boolean): unknown {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) {
    return unreadable(
      new WxMalformedPayloadError(name, 'must be an object with rawData, signature, encryptedData and iv'),
    );
  }
  const keys = Object.keys(value);
  for (const key of keys) {
    if (ENVELOPE_FIELD_SET.has(key)) continue;
    const field = SAFE_FIELD_NAME.test(key) ? key : name;
    return unreadable(
      new WxMalformedPayloadError(field, 'is not an envelope field (rawData, signature, encryptedData, iv)'),
    );
  }
  if (!nullMeansAbsent || !keys.some((key) => value[key] === null)) return value;
  return Object.fromEntries(keys.filter((key) => value[key] !== null).map((key) => [key, value[key]]));
}

/** A body whose every envelope field throws `error` when read. */
function unreadable(error: WxMalformedPayloadError): object {
  const fail = (): never => {
    throw error;
  };
  return Object.freeze(
    Object.defineProperties(
      {},
      Object.fromEntries(ENVELOPE_FIELDS.map((field) => [field, { get: fail, enumerable: true }])),
    ),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isObject(value) || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** @internal */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * The body of a refusal as a GraphQL error's `extensions` or a gateway's `exception` event carry
 * it: the HTTP body, with `retryAfterSeconds` where HTTP sends `Retry-After`.
 *
 * @internal
 */
export function refusalPayload(answer: WxAnswer): Record<string, unknown> {
  return answer.retryAfterSeconds === undefined
    ? { ...answer.body }
    : { ...answer.body, retryAfterSeconds: answer.retryAfterSeconds };
}
