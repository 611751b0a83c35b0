/**
 * Issue 16 and issue 11 §3/§4, core: the cached decipher per session key (byte-exact, bounded,
 * forgotten on demand), the strict JSON reader (repeated keys refused, no throw on the secret
 * path), and failure classes decided by flags.
 */
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { createCipheriv } from 'node:crypto';
import { decryptCbcBlocks, pkcs7PaddingLength } from '../../lib/core/aes.js';
import { countParsedKeys, MAX_DEPTH, scanJsonObject } from '../../lib/core/json.js';
import {
  isSessionKeyCached,
  SESSION_KEY_CACHE_ENTRIES,
  sessionKeyDecipher,
} from '../../lib/core/key-cache.js';
import {
  decryptOpenData,
  forgetSessionKey,
  WxDecryptionError,
  type WxEncryptedOpenData,
} from '../../lib/index.js';
import { createSessionKey, encryptOpenData } from '../../lib/testing/index.js';
import { captureError } from '../support/capture-error.js';
import { wycheproofCases } from '../support/wycheproof.js';

const APP_ID = 'wx4f4bc4dec97d474b';
const NOW_SECONDS = 1_700_000_000;
const AT_NOW = { appId: APP_ID, now: NOW_SECONDS * 1000 };
const WATERMARK = JSON.stringify({ appid: APP_ID, timestamp: NOW_SECONDS });
const hex = (value: string): Buffer => Buffer.from(value, 'hex');

/** Encrypts bytes exactly as given, PKCS#7 padded unless `raw`. */
function encryptBytes(plaintext: Buffer, sessionKey: string, raw = false): WxEncryptedOpenData {
  const iv = Buffer.from(createSessionKey(), 'base64');
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv).setAutoPadding(!raw);
  const encryptedData = Buffer.concat([cipher.update(plaintext), cipher.final()]).toString('base64');
  return { encryptedData, iv: iv.toString('base64'), sessionKey };
}
const encryptText = (text: string, sessionKey = createSessionKey()): WxEncryptedOpenData =>
  encryptBytes(Buffer.from(text, 'utf8'), sessionKey);

describe('the decipher kept per session key', () => {
  it('decrypts every valid Wycheproof AES-128 vector byte-exact, again and again with the same decipher', () => {
    const valid = wycheproofCases(128).filter((c) => c.result === 'valid');
    expect(valid).toHaveLength(24);
    for (const round of [1, 2, 3]) {
      for (const c of valid) {
        const chain = sessionKeyDecipher(hex(c.key).toString('base64'));
        if (chain === undefined) throw new Error('a 16-byte key is cached');
        const padded = decryptCbcBlocks(chain, hex(c.iv), hex(c.ct));
        const plain = padded.subarray(0, padded.length - pkcs7PaddingLength(padded));
        expect([round, c.tcId, plain.toString('hex')]).toEqual([round, c.tcId, c.msg]);
      }
    }
  });

  it('keeps payloads of one key and of interleaved keys apart (the chaining state is per key)', () => {
    const keys = [createSessionKey(), createSessionKey(), createSessionKey()];
    for (let i = 0; i < 30; i++) {
      const sessionKey = keys[(i * 7) % 3] as string;
      const payload = { n: i, s: 'x'.repeat(i * 5), watermark: JSON.parse(WATERMARK) as object };
      expect(decryptOpenData({ ...encryptOpenData(payload, sessionKey), sessionKey }, AT_NOW)).toEqual(
        payload,
      );
    }
  });

  it('forgetSessionKey drops a key from the cache; the key still decrypts afterwards', () => {
    const sessionKey = createSessionKey();
    const payload = { watermark: JSON.parse(WATERMARK) as object };
    decryptOpenData({ ...encryptOpenData(payload, sessionKey), sessionKey }, AT_NOW);
    expect(isSessionKeyCached(sessionKey)).toBe(true);
    forgetSessionKey(sessionKey);
    expect(isSessionKeyCached(sessionKey)).toBe(false);
    forgetSessionKey(sessionKey);
    expect(decryptOpenData({ ...encryptOpenData(payload, sessionKey), sessionKey }, AT_NOW)).toEqual(payload);
  });

  it('is bounded: the oldest key leaves first', () => {
    const first = createSessionKey();
    sessionKeyDecipher(first);
    for (let i = 0; i < SESSION_KEY_CACHE_ENTRIES; i++) sessionKeyDecipher(createSessionKey());
    expect(isSessionKeyCached(first)).toBe(false);
  });

  it('never caches a key that is not canonical base64 of 16 bytes', () => {
    for (const bad of ['', 'AAAA', Buffer.alloc(24).toString('base64'), 'A'.repeat(22) + '= ']) {
      expect(sessionKeyDecipher(bad)).toBeUndefined();
      expect(isSessionKeyCached(bad)).toBe(false);
    }
  });
});

describe('repeated keys in decrypted JSON (issue 11 §3)', () => {
  it.each([
    ['a top-level key twice', `{"city":"x","openId":"o","city":"Guangzhou","watermark":${WATERMARK}}`],
    ['a key twice, once escaped', `{"city":"x","\\u0063ity":"y","watermark":${WATERMARK}}`],
    [
      'a nested key twice',
      `{"watermark":{"appid":"${APP_ID}","appid":"${APP_ID}","timestamp":${NOW_SECONDS}}}`,
    ],
    ['the watermark twice', `{"watermark":${WATERMARK},"watermark":${WATERMARK}}`],
    ['a key twice in an object inside an array', `{"a":[{"b":1,"b":1}],"watermark":${WATERMARK}}`],
  ])('refuses %s with the uniform decryption error', (_name, text) => {
    const error = captureError(() => decryptOpenData(encryptText(text), AT_NOW));
    expect(error).toBeInstanceOf(WxDecryptionError);
  });

  it('accepts equal keys in different objects', () => {
    const text = `{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}],"watermark":${WATERMARK}}`;
    expect(decryptOpenData(encryptText(text), AT_NOW)).toEqual(JSON.parse(text));
  });
});

describe('the strict JSON scanner against JSON.parse', () => {
  /** What the scanner must answer: JSON.parse's verdict, restricted to one object, shallow enough, without forbidden keys. */
  function expected(text: string): number {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text, (key: string, value: unknown) => {
        if (key === '__proto__' || key === 'constructor' || key === 'prototype')
          throw new SyntaxError('forbidden');
        return value;
      });
    } catch {
      return -1;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return -1;
    const depth = (v: unknown): number =>
      typeof v !== 'object' || v === null ? 0 : 1 + Math.max(0, ...Object.values(v).map(depth));
    return depth(parsed) > MAX_DEPTH ? -1 : countParsedKeys(parsed);
  }

  it('agrees on generated JSON objects, and on every one of them cut or with a character changed', () => {
    const object = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });
    fc.assert(
      fc.property(object, fc.nat(), fc.integer({ min: 0, max: 127 }), (value, at, code) => {
        const text = JSON.stringify(value, null, at % 3 === 0 ? 1 : undefined);
        expect(scanJsonObject(text)).toBe(expected(text));
        const cut = text.slice(0, at % (text.length + 1));
        expect(scanJsonObject(cut)).toBe(expected(cut));
        const i = at % Math.max(1, text.length);
        const changed = text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1);
        expect([changed, scanJsonObject(changed)]).toEqual([changed, expected(changed)]);
      }),
      { numRuns: 3000, seed: 20_261_201 },
    );
  });

  it.each([
    ['numbers of every form', '{"a":[0,-0,1.5,-2e10,3E+2,4e-3,0.25],"b":-1}', 2],
    ['leading zeros', '{"a":01}', -1],
    ['a lone minus', '{"a":-}', -1],
    ['a dot without digits', '{"a":1.}', -1],
    ['an exponent without digits', '{"a":1e}', -1],
    ['escapes', '{"a":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"}', 1],
    ['a bad escape', '{"a":"\\x"}', -1],
    ['a short \\u escape', '{"a":"\\u00e"}', -1],
    ['a raw control character in a string', '{"a":"\u0001"}', -1],
    ['literals', '{"a":true,"b":false,"c":null}', 3],
    ['a misspelt literal', '{"a":nul}', -1],
    ['whitespace everywhere', ' \t\n\r{ "a" : [ 1 , 2 ] } \n', 1],
    ['nesting at the limit', `{"a":${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}}`, 1],
    ['nesting beyond the limit', `{"a":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}`, -1],
    ['a forbidden key', '{"a":{"__proto__":1}}', -1],
    ['a forbidden key, escaped', '{"a":{"constructo\\u0072":1}}', -1],
    ['a mismatched bracket', '{"a":[1}', -1],
  ])('%s', (_name, text, keys) => {
    expect(scanJsonObject(text)).toBe(keys);
  });
});

describe('failure classes decided by flags, not exceptions (issue 11 §4)', () => {
  const sessionKey = createSessionKey();
  const genuine = Buffer.from(`{"nickName":"Band","watermark":${WATERMARK}}`);
  const cases: Array<[string, WxEncryptedOpenData]> = [
    [
      'bad padding',
      encryptBytes(Buffer.concat([genuine, Buffer.alloc(16 - (genuine.length % 16), 0)]), sessionKey, true),
    ],
    [
      'bad UTF-8',
      encryptBytes(
        Buffer.concat([genuine.subarray(0, 10), Buffer.from([0xff]), genuine.subarray(10)]),
        sessionKey,
      ),
    ],
    ['bad JSON', encryptBytes(Buffer.from(`{"nickName":"Band",,"watermark":${WATERMARK}}`), sessionKey)],
    ['a repeated key', encryptBytes(Buffer.from(`{"a":1,"a":2,"watermark":${WATERMARK}}`), sessionKey)],
  ];

  it.each(cases)('%s: the uniform error, and JSON.parse never ran into a throw', (name, input) => {
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const error = captureError(() => decryptOpenData(input, AT_NOW));
      expect([name, error instanceof WxDecryptionError]).toEqual([name, true]);
      // Only a text the scanner accepted reaches JSON.parse, and there it cannot throw.
      for (const result of parse.mock.results) expect(result.type).toBe('return');
      expect(parse.mock.calls.length).toBe(name === 'a repeated key' ? 1 : 0);
    } finally {
      parse.mockRestore();
    }
  });
});
