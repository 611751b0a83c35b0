/**
 * Keys that can reach an object's prototype when a parsed payload is later merged, spread or
 * assigned somewhere. WeChat never sends them, so their presence is itself a sign of forgery.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Text that cannot contain a forbidden key: none of the words appear, and no `\u` escape could
 * spell one. Nearly every genuine payload passes, and skips the per-key reviver.
 */
const MAY_HOLD_FORBIDDEN_KEY = /__proto__|constructor|prototype|\\u/;

/**
 * `JSON.parse` that refuses `__proto__`, `constructor` and `prototype` as keys at any depth.
 *
 * @throws SyntaxError on invalid JSON or a forbidden key
 * @internal
 */
export function parseJsonWithoutPrototypeKeys(text: string): unknown {
  if (!MAY_HOLD_FORBIDDEN_KEY.test(text)) return JSON.parse(text);
  return JSON.parse(text, rejectForbiddenKey);
}

function rejectForbiddenKey(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError('forbidden key in JSON');
  return value;
}
