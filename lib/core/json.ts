/**
 * The strict JSON reader of decrypted open data.
 *
 * `JSON.parse` alone is not enough: it keeps the last of two equal keys (so an iv flip that renames
 * `openId` to a later key's name would remove `openId` without a trace), it accepts keys that reach
 * an object's prototype when the payload is later merged, and it fails by throwing (an exception
 * path whose time differs from the others on the secret path). So the text is first scanned here
 * once by a JSON grammar automaton that never throws: it counts
 * the keys and flags `__proto__`, `constructor` and `prototype` (escaped or not), nesting deeper
 * than {@link MAX_DEPTH}, and anything that is not one JSON object. Only a text that passed is
 * given to `JSON.parse` (which then cannot throw), and duplicate keys show as fewer keys in the
 * parsed tree than in the text.
 */

/** Deepest nesting accepted; WeChat's payloads nest three levels at most (WeRun). */
export const MAX_DEPTH = 32;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// Automaton states.
const VALUE = 0; // a value is expected
const AFTER = 1; // a value ended: `,`, a closing bracket, or the end
const OBJECT_FIRST = 2; // after `{`: a key or `}`
const KEY = 3; // after `,` in an object: a key
const COLON = 4; // after a key
const ARRAY_FIRST = 5; // after `[`: a value or `]`
const STRING = 6;
const ESCAPE = 7;
const HEX1 = 8; // HEX1..HEX4: the four digits of `\u`
const HEX4 = 11;
const MINUS = 12;
const ZERO = 13;
const INTEGER = 14;
const DOT = 15;
const FRACTION = 16;
const EXP_MARK = 17;
const EXP_SIGN = 18;
const EXPONENT = 19;
const LITERAL = 20; // inside true/false/null
const ERROR = 21;

const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** A backslash or a control character: where string content cannot be skipped to the next quote. */
// eslint-disable-next-line no-control-regex
const ESCAPE_OR_CONTROL = /[\\\u0000-\u001f]/;

/** The open containers of the scan in progress: one for all scans, which never interleave. */
const stack = new Uint8Array(MAX_DEPTH);

const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/**
 * Scans `text` as JSON whose top value is an object: the number of keys in it at every depth, or
 * -1 when it is not valid JSON, holds a forbidden key, or nests deeper than {@link MAX_DEPTH}.
 * Never throws.
 *
 * @internal
 */
export function scanJsonObject(text: string): number {
  const plain = !ESCAPE_OR_CONTROL.test(text);
  const n = text.length;
  let state = VALUE;
  let depth = 0;
  let keys = 0;
  let bad = 0;
  let inKey = false;
  let keyStart = 0;
  let keyEscaped = false;
  let literal = '';
  let literalAt = 0;
  let topIsObject = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    switch (state) {
      case STRING:
        if (c === 0x22) {
          if (inKey) {
            keys += 1;
            if (isForbiddenKey(text, keyStart, i, keyEscaped)) bad = 1;
            state = COLON;
          } else state = AFTER;
        } else if (c === 0x5c) {
          if (inKey) keyEscaped = true;
          state = ESCAPE;
        } else if (c < 0x20) state = ERROR;
        else if (plain) {
          // No escape and no control character anywhere: the string ends at the next quote.
          const quote = text.indexOf('"', i + 1);
          i = (quote < 0 ? n : quote) - 1;
        } else {
          // Most of a payload is string content: skip it in a tight loop, not one switch per character.
          while (i + 1 < n) {
            const d = text.charCodeAt(i + 1);
            if (d === 0x22 || d === 0x5c || d < 0x20) break;
            i++;
          }
        }
        break;
      case ESCAPE:
        if (c === 0x75) state = HEX1;
        else if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e)
          state = STRING;
        else if (c === 0x72 || c === 0x74) state = STRING;
        else state = ERROR;
        break;
      case HEX1:
      case HEX1 + 1:
      case HEX1 + 2:
      case HEX4:
        state = !isHex(c) ? ERROR : state === HEX4 ? STRING : state + 1;
        break;
      case VALUE:
      case ARRAY_FIRST:
        if (isWhitespace(c)) break;
        if (c === 0x5d && state === ARRAY_FIRST) {
          depth -= 1;
          state = AFTER;
        } else if (c === 0x7b || c === 0x5b) {
          // A value at depth 0 is always the first one: a second would have failed in AFTER.
          if (depth === 0 && c === 0x7b) topIsObject = true;
          if (depth >= MAX_DEPTH) state = ERROR;
          else {
            stack[depth++] = c === 0x7b ? IN_OBJECT : IN_ARRAY;
            state = c === 0x7b ? OBJECT_FIRST : ARRAY_FIRST;
          }
        } else if (c === 0x22) {
          inKey = false;
          state = STRING;
        } else if (c === 0x2d) state = MINUS;
        else if (c === 0x30) state = ZERO;
        else if (isDigit(c)) state = INTEGER;
        else if (c === 0x74 || c === 0x66 || c === 0x6e) {
          literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
          literalAt = 1;
          state = LITERAL;
        } else state = ERROR;
        break;
      case LITERAL:
        if (c !== literal.charCodeAt(literalAt)) state = ERROR;
        else if (++literalAt === literal.length) state = AFTER;
        break;
      case OBJECT_FIRST:
      case KEY:
        if (isWhitespace(c)) break;
        if (c === 0x22) {
          inKey = true;
          keyStart = i + 1;
          keyEscaped = false;
          state = STRING;
        } else if (c === 0x7d && state === OBJECT_FIRST) {
          depth -= 1;
          state = AFTER;
        } else state = ERROR;
        break;
      case COLON:
        if (c === 0x3a) state = VALUE;
        else if (!isWhitespace(c)) state = ERROR;
        break;
      case MINUS:
        state = c === 0x30 ? ZERO : isDigit(c) ? INTEGER : ERROR;
        break;
      case DOT:
        state = isDigit(c) ? FRACTION : ERROR;
        break;
      case EXP_MARK:
        state = c === 0x2b || c === 0x2d ? EXP_SIGN : isDigit(c) ? EXPONENT : ERROR;
        break;
      case EXP_SIGN:
        state = isDigit(c) ? EXPONENT : ERROR;
        break;
      case ZERO:
      case INTEGER:
      case FRACTION:
      case EXPONENT:
        if (isDigit(c) && state !== ZERO) break;
        if (c === 0x2e && (state === ZERO || state === INTEGER)) {
          state = DOT;
          break;
        }
        if ((c | 0x20) === 0x65 && state !== EXPONENT) {
          state = EXP_MARK;
          break;
        }
        // The number ended: this character is read again as what follows a value.
        state = AFTER;
        i -= 1;
        break;
      case AFTER:
        if (isWhitespace(c)) break;
        if (depth === 0) state = ERROR;
        else if (c === 0x2c) state = stack[depth - 1] === IN_OBJECT ? KEY : VALUE;
        else if (c === (stack[depth - 1] === IN_OBJECT ? 0x7d : 0x5d)) depth -= 1;
        else state = ERROR;
        break;
      default:
        // ERROR: the verdict is known. Where the text goes wrong depends on the plaintext alone
        // (a padding oracle garbles the same block whether the padding holds or not).
        bad = 1;
        i = n;
    }
  }
  const ended =
    state === AFTER || state === ZERO || state === INTEGER || state === FRACTION || state === EXPONENT;
  return bad === 0 && ended && depth === 0 && topIsObject ? keys : -1;
}

/** Whether the key `text[start, end)` (raw, between its quotes) is a forbidden one. */
function isForbiddenKey(text: string, start: number, end: number, escaped: boolean): boolean {
  if (escaped) {
    // Rare: WeChat never escapes key characters. The scanned token is valid, so this cannot throw.
    return FORBIDDEN_KEYS.has(JSON.parse(text.slice(start - 1, end + 1)) as string);
  }
  const length = end - start;
  if (length === 9) return text.startsWith('__proto__', start) || text.startsWith('prototype', start);
  return length === 11 && text.startsWith('constructor', start);
}

/**
 * How many keys a parsed JSON value holds at every depth. Equal to the text's count exactly
 * when no object of the text repeats a key (`JSON.parse` keeps only the last of equal keys).
 *
 * @internal
 */
export function countParsedKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countParsedKeys(item);
    return count;
  }
  const record = value as Record<string, unknown>;
  // for-in, not Object.keys: no array per object. A parsed object's prototype is Object.prototype;
  // were it polluted with enumerable keys, they would count here and the payload be refused.
  for (const key in record) count += 1 + countParsedKeys(record[key]);
  return count;
}

/**
 * `text` as a JSON object under the same rules as decrypted open data (see
 * {@link scanJsonObject}: no prototype keys, no repeated keys, bounded nesting, one object), or
 * `undefined`. Never throws.
 *
 * @internal
 */
export function parseStrictJsonObject(text: string): Record<string, unknown> | undefined {
  const keys = scanJsonObject(text);
  if (keys < 0) return undefined;
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return countParsedKeys(parsed) === keys ? parsed : undefined;
}

/**
 * `text` parsed by `JSON.parse` as an object, or `undefined` when it is not JSON or not an object.
 * Plain JSON rules, for text from our own side (a store entry, a WeChat answer already
 * authenticated): {@link parseStrictJsonObject} is the one for client-supplied data.
 *
 * @internal
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
