import { createCipheriv, randomBytes } from 'node:crypto';
import {
  decryptOpenData,
  WxDecryptionError,
  WxMalformedPayloadError,
  WxOpenDataError,
  WxSessionKeyError,
  WxWatermarkError,
  type WxDecryptOptions,
  type WxEncryptedOpenData,
  type WxWatermarkErrorCode,
} from '../../lib/index.js';
import { createSessionKey, encryptOpenData } from '../../lib/testing/index.js';
import { captureError } from '../support/capture-error.js';

const APP_ID = 'wx4f4bc4dec97d474b';
const NOW_SECONDS = 1_700_000_000;
const NOW_MS = NOW_SECONDS * 1000;
const DECRYPT_MESSAGE = 'open data could not be decrypted';

/** Options that pin the clock, so freshness never depends on when the suite runs. */
const AT_NOW: WxDecryptOptions = { appId: APP_ID, now: NOW_MS };

interface Watermark {
  appid: string;
  timestamp: number;
}

const watermark = (timestamp = NOW_SECONDS, appid = APP_ID): Watermark => ({ appid, timestamp });

function userInfo(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
    nickName: 'Band',
    gender: 1,
    language: 'zh_CN',
    city: 'Guangzhou',
    province: 'Guangdong',
    country: 'CN',
    avatarUrl:
      'http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0',
    unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
    watermark: watermark(),
    ...extra,
  };
}

/** Encrypts arbitrary plaintext bytes the way WeChat does, for plaintexts `encryptOpenData` cannot make. */
function encryptRaw(
  plaintext: string | Buffer,
  sessionKey: string,
  iv: Buffer = randomBytes(16),
): WxEncryptedOpenData {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
  return { encryptedData: ciphertext.toString('base64'), iv: iv.toString('base64'), sessionKey };
}

/** An encrypted fixture made by the library's own helper, with its key attached. */
function fixture(payload: object, sessionKey = createSessionKey(), iv?: Buffer): WxEncryptedOpenData {
  return { ...encryptOpenData(payload, sessionKey, iv), sessionKey };
}

/**
 * A fixture whose `encryptedData` satisfies `predicate`: the filler length moves the ciphertext
 * through every block count modulo 3 (so through every padding length) and each try has a
 * fresh random iv, so any reasonable predicate is met within a few tries.
 */
function fixtureWhere(predicate: (encryptedData: string) => boolean): WxEncryptedOpenData {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const candidate = fixture(userInfo({ filler: 'x'.repeat(attempt % 48) }));
    if (predicate(candidate.encryptedData)) return candidate;
  }
  throw new Error('no fixture satisfied the predicate');
}

/** Every string a message must never reveal: the key, iv, ciphertext and plaintext values. */
function secretsOf(input: WxEncryptedOpenData, plaintextValues: readonly string[] = []): string[] {
  const secrets = [input.sessionKey, input.iv, input.encryptedData, ...plaintextValues];
  for (const value of [input.sessionKey, input.iv]) {
    if (typeof value === 'string' && value.length > 0) {
      secrets.push(Buffer.from(value, 'base64').toString('hex'));
    }
  }
  // A leak of a fragment is still a leak: check a prefix of the long values too.
  if (typeof input.encryptedData === 'string' && input.encryptedData.length > 16) {
    secrets.push(input.encryptedData.slice(0, 16));
  }
  return secrets.filter((secret) => typeof secret === 'string' && secret.length >= 4);
}

function expectNoSecrets(error: unknown, secrets: readonly string[]): void {
  expect(error).toBeInstanceOf(WxOpenDataError);
  const { message, stack = '' } = error as Error;
  for (const secret of secrets) {
    expect(message).not.toContain(secret);
    expect(stack).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
  }
}

const PLAINTEXT_VALUES = [
  'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
  'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
  'Guangzhou',
  'Guangdong',
  'wx.qlogo.cn',
  APP_ID,
];

function expectMalformed(input: WxEncryptedOpenData, field: 'encryptedData' | 'iv'): WxMalformedPayloadError {
  const error = captureError(() => decryptOpenData(input, AT_NOW));
  expect(error).toBeInstanceOf(WxMalformedPayloadError);
  const malformed = error as WxMalformedPayloadError;
  expect(malformed.field).toBe(field);
  expect(malformed.code).toBe('MALFORMED_PAYLOAD');
  expect(malformed.keyDependent).toBe(false);
  expect(malformed.message.startsWith(`${field}: `)).toBe(true);
  expectNoSecrets(error, secretsOf(input, PLAINTEXT_VALUES));
  return malformed;
}

function expectDecryptionError(input: WxEncryptedOpenData, plaintextValues: readonly string[] = []): void {
  const error = captureError(() => decryptOpenData(input, AT_NOW));
  expect(error).toBeInstanceOf(WxDecryptionError);
  const failure = error as WxDecryptionError;
  expect(failure.code).toBe('DECRYPT_FAILED');
  expect(failure.keyDependent).toBe(true);
  expect(failure.name).toBe('WxDecryptionError');
  expect(failure.message).toBe(DECRYPT_MESSAGE);
  expect(failure).not.toHaveProperty('field');
  expect(failure.cause).toBeUndefined();
  expectNoSecrets(error, secretsOf(input, plaintextValues));
}

function expectSessionKeyError(input: WxEncryptedOpenData): void {
  const error = captureError(() => decryptOpenData(input, AT_NOW));
  expect(error).toBeInstanceOf(WxSessionKeyError);
  expect((error as WxSessionKeyError).code).toBe('SESSION_KEY_INVALID');
  expect((error as WxSessionKeyError).keyDependent).toBe(true);
  expectNoSecrets(error, secretsOf(input, PLAINTEXT_VALUES));
}

function expectWatermarkError(
  input: WxEncryptedOpenData,
  code: WxWatermarkErrorCode,
  options: WxDecryptOptions = AT_NOW,
  plaintextValues: readonly string[] = PLAINTEXT_VALUES,
): void {
  const error = captureError(() => decryptOpenData(input, options));
  expect(error).toBeInstanceOf(WxWatermarkError);
  expect((error as WxWatermarkError).code).toBe(code);
  expect((error as WxWatermarkError).keyDependent).toBe(true);
  expectNoSecrets(error, secretsOf(input, plaintextValues));
}

/** Replaces the character at `index` of a base64 string by the one with the given alphabet index XOR `mask`. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function flipBase64Char(value: string, index: number, mask: number): string {
  const current = ALPHABET.indexOf(value.charAt(index));
  if (current < 0) throw new Error('not a base64 character');
  return value.slice(0, index) + ALPHABET.charAt(current ^ mask) + value.slice(index + 1);
}

/** Index of the last data character, right before any `=` padding. */
const lastDataIndex = (value: string): number => value.replace(/=+$/, '').length - 1;

describe('decryptOpenData', () => {
  describe('round trip', () => {
    it('returns the payload encryptOpenData encrypted, watermark included', () => {
      const payload = userInfo();
      const result = decryptOpenData(fixture(payload), AT_NOW);
      expect(result).toEqual(payload);
      expect(result.watermark).toEqual({ appid: APP_ID, timestamp: NOW_SECONDS });
    });

    it('keeps multi-byte UTF-8 intact across block boundaries', () => {
      const payload = userInfo({ nickName: '微信用户🙂', city: '广州', province: '广东', country: '中国' });
      expect(decryptOpenData(fixture(payload), AT_NOW)).toEqual(payload);
    });

    it('decrypts a plaintext that is an exact multiple of the block size (a whole padding block)', () => {
      // The JSON grows one byte per filler character, so one of 16 lengths is whole blocks.
      let wholeBlocks = 0;
      for (let filler = 0; filler < 16; filler += 1) {
        const payload = { watermark: watermark(), f: 'y'.repeat(filler) };
        const input = fixture(payload);
        const plaintextBytes = JSON.stringify(payload).length;
        const ciphertextBytes = Buffer.from(input.encryptedData, 'base64').length;
        expect(ciphertextBytes).toBe((Math.floor(plaintextBytes / 16) + 1) * 16);
        expect(decryptOpenData(input, AT_NOW)).toEqual(payload);
        if (plaintextBytes % 16 === 0) wholeBlocks += 1;
      }
      expect(wholeBlocks).toBe(1);
    });

    it('decrypts a fixture made with a fixed iv, and gives the typed payload back', () => {
      const sessionKey = createSessionKey();
      const iv = Buffer.alloc(16, 7);
      const input = fixture(
        { openGId: 'GRrHy0Q8fZnlq3FzCoTNy9lwR4Xk', watermark: watermark() },
        sessionKey,
        iv,
      );
      expect(input.iv).toBe(iv.toString('base64'));
      const result = decryptOpenData<{ openGId: string }>(input, AT_NOW);
      expect(result.openGId).toBe('GRrHy0Q8fZnlq3FzCoTNy9lwR4Xk');
      expect(result.watermark.appid).toBe(APP_ID);
    });

    it('accepts any appid when no appId is expected', () => {
      const payload = userInfo({ watermark: watermark(NOW_SECONDS, 'wxanotherapp0000000') });
      expect(decryptOpenData(fixture(payload), { now: NOW_MS })).toEqual(payload);
    });

    it('uses the real clock by default: fresh data passes, day-old data does not', () => {
      const nowSeconds = Math.floor(Date.now() / 1000);
      const fresh = fixture(userInfo({ watermark: watermark(nowSeconds) }));
      expect(decryptOpenData(fresh).watermark.timestamp).toBe(nowSeconds);
      const stale = fixture(userInfo({ watermark: watermark(nowSeconds - 86_400) }));
      expect(() => decryptOpenData(stale)).toThrow(WxWatermarkError);
    });
  });

  describe('strict base64 of encryptedData', () => {
    it('refuses a `+` turned into a space by form decoding', () => {
      const input = fixtureWhere((data) => data.includes('+'));
      expect(() => decryptOpenData(input, AT_NOW)).not.toThrow();
      expectMalformed({ ...input, encryptedData: input.encryptedData.replace(/\+/g, ' ') }, 'encryptedData');
      expectMalformed({ ...input, encryptedData: input.encryptedData.replace('+', ' ') }, 'encryptedData');
    });

    it('refuses base64url (`-` and `_`)', () => {
      const input = fixtureWhere((data) => data.includes('+') && data.includes('/'));
      expectMalformed({ ...input, encryptedData: input.encryptedData.replace(/\+/g, '-') }, 'encryptedData');
      expectMalformed({ ...input, encryptedData: input.encryptedData.replace(/\//g, '_') }, 'encryptedData');
      expectMalformed(
        { ...input, encryptedData: Buffer.from(input.encryptedData, 'base64').toString('base64url') },
        'encryptedData',
      );
    });

    it.each([1, 2])('refuses %i missing padding character(s)', (padding) => {
      const input = fixtureWhere(
        (data) => data.endsWith('='.repeat(padding)) && !data.endsWith('='.repeat(padding + 1)),
      );
      expect(() => decryptOpenData(input, AT_NOW)).not.toThrow();
      expectMalformed({ ...input, encryptedData: input.encryptedData.replace(/=+$/, '') }, 'encryptedData');
      if (padding === 2) {
        expectMalformed({ ...input, encryptedData: input.encryptedData.slice(0, -1) }, 'encryptedData');
      }
    });

    it.each([
      ['padded value', (data: string) => data.endsWith('=')],
      ['unpadded value', (data: string) => !data.endsWith('=')],
    ])('refuses extra padding on a %s', (_name, predicate) => {
      const input = fixtureWhere(predicate);
      expectMalformed({ ...input, encryptedData: `${input.encryptedData}=` }, 'encryptedData');
      expectMalformed({ ...input, encryptedData: `${input.encryptedData}==` }, 'encryptedData');
      expectMalformed({ ...input, encryptedData: `${input.encryptedData}====` }, 'encryptedData');
    });

    it.each([1, 2])('refuses non-zero trailing bits before %i padding character(s)', (padding) => {
      const input = fixtureWhere(
        (data) => data.endsWith('='.repeat(padding)) && !data.endsWith('='.repeat(padding + 1)),
      );
      const index = lastDataIndex(input.encryptedData);
      // The lowest bit of the last data character is always a trailing bit when there is padding.
      const mangled = flipBase64Char(input.encryptedData, index, 1);
      expect(Buffer.from(mangled, 'base64').equals(Buffer.from(input.encryptedData, 'base64'))).toBe(true);
      expectMalformed({ ...input, encryptedData: mangled }, 'encryptedData');
    });

    it.each([
      ['a newline', '\n'],
      ['a CRLF', '\r\n'],
      ['a space', ' '],
      ['a tab', '\t'],
    ])('refuses %s embedded in the value', (_name, whitespace) => {
      const input = fixture(userInfo());
      const at = 64;
      const mangled = input.encryptedData.slice(0, at) + whitespace + input.encryptedData.slice(at);
      expectMalformed({ ...input, encryptedData: mangled }, 'encryptedData');
      expectMalformed({ ...input, encryptedData: `${input.encryptedData}${whitespace}` }, 'encryptedData');
      expectMalformed({ ...input, encryptedData: `${whitespace}${input.encryptedData}` }, 'encryptedData');
    });

    it('refuses characters outside the alphabet', () => {
      const input = fixture(userInfo());
      expectMalformed(
        { ...input, encryptedData: `${input.encryptedData.slice(0, 8)}*${input.encryptedData.slice(9)}` },
        'encryptedData',
      );
      expectMalformed(
        { ...input, encryptedData: `${input.encryptedData.slice(0, 8)}.${input.encryptedData.slice(9)}` },
        'encryptedData',
      );
    });

    it('refuses a non-string encryptedData from an untyped caller', () => {
      const input = fixture(userInfo());
      for (const value of [undefined, null, 42, ['a'], { data: input.encryptedData }, Buffer.from('abc')]) {
        expectMalformed({ ...input, encryptedData: value as unknown as string }, 'encryptedData');
      }
    });

    it('checks encryptedData before iv, and both before the session key', () => {
      const input = fixture(userInfo());
      expectMalformed({ encryptedData: 'a b', iv: 'not base64!', sessionKey: 'nope' }, 'encryptedData');
      expectMalformed({ ...input, iv: 'not base64!', sessionKey: 'nope' }, 'iv');
      expectMalformed({ ...input, iv: 'AAAA', sessionKey: 'nope' }, 'iv');
    });
  });

  describe('strict base64 of iv', () => {
    // Decodes to 16 bytes and is canonical: "++++////" then zeros, with the usual `==`.
    const SPECIAL_IV = Buffer.from('++++////AAAAAAAAAAAAAA==', 'base64');

    it('accepts a canonical iv holding `+` and `/`', () => {
      const input = fixture(userInfo(), createSessionKey(), SPECIAL_IV);
      expect(input.iv).toBe('++++////AAAAAAAAAAAAAA==');
      expect(decryptOpenData(input, AT_NOW)).toEqual(userInfo());
    });

    it.each([
      ['a `+` turned into a space', (iv: string) => iv.replace(/\+/g, ' ')],
      ['a single `+` turned into a space', (iv: string) => iv.replace('+', ' ')],
      ['base64url `-`', (iv: string) => iv.replace(/\+/g, '-')],
      ['base64url `_`', (iv: string) => iv.replace(/\//g, '_')],
      ['base64url, unpadded', (iv: string) => Buffer.from(iv, 'base64').toString('base64url')],
      ['missing padding', (iv: string) => iv.replace(/=+$/, '')],
      ['one of two padding characters missing', (iv: string) => iv.slice(0, -1)],
      ['extra padding', (iv: string) => `${iv}=`],
      ['much extra padding', (iv: string) => `${iv}====`],
      ['non-zero trailing bits (lowest)', (iv: string) => flipBase64Char(iv, lastDataIndex(iv), 1)],
      ['non-zero trailing bits (highest)', (iv: string) => flipBase64Char(iv, lastDataIndex(iv), 8)],
      ['an embedded newline', (iv: string) => `${iv.slice(0, 10)}\n${iv.slice(10)}`],
      ['a trailing newline', (iv: string) => `${iv}\n`],
      ['a leading space', (iv: string) => ` ${iv}`],
      ['a character outside the alphabet', (iv: string) => `${iv.slice(0, 5)}!${iv.slice(6)}`],
    ])('refuses %s', (_name, mangle) => {
      const input = fixture(userInfo(), createSessionKey(), SPECIAL_IV);
      const iv = mangle(input.iv);
      expect(iv).not.toBe(input.iv);
      expectMalformed({ ...input, iv }, 'iv');
    });

    it.each([
      ['empty', 0],
      ['1 byte', 1],
      ['8 bytes', 8],
      ['15 bytes', 15],
      ['17 bytes', 17],
      ['24 bytes', 24],
      ['32 bytes', 32],
    ])('refuses an iv of canonical base64 that is %s', (_name, length) => {
      const input = fixture(userInfo());
      const iv = randomBytes(length).toString('base64');
      const error = expectMalformed({ ...input, iv }, 'iv');
      expect(error.message).toContain('16 bytes');
    });

    it('refuses a non-string iv from an untyped caller', () => {
      const input = fixture(userInfo());
      for (const value of [undefined, null, 16, Buffer.alloc(16), { iv: input.iv }]) {
        expectMalformed({ ...input, iv: value as unknown as string }, 'iv');
      }
    });
  });

  describe('session key', () => {
    it.each([
      ['empty', ''],
      ['15 bytes', randomBytes(15).toString('base64')],
      ['17 bytes', randomBytes(17).toString('base64')],
      ['24 bytes (would select AES-192)', randomBytes(24).toString('base64')],
      ['32 bytes (would select AES-256)', randomBytes(32).toString('base64')],
      ['not base64 at all', 'this is no session key!'],
      ['unpadded', createSessionKey().replace(/=+$/, '')],
      ['with extra padding', `${createSessionKey()}=`],
      ['with a trailing newline', `${createSessionKey()}\n`],
      ['base64url with `-`', '-_-_-_-_-_-_-_-_-_-_-w=='],
      ['with non-zero trailing bits', 'AAAAAAAAAAAAAAAAAAAAAB=='],
    ])('refuses a session key that is %s', (_name, sessionKey) => {
      const input = fixture(userInfo());
      expectSessionKeyError({ ...input, sessionKey });
    });

    it('refuses a session key that is not a string', () => {
      const input = fixture(userInfo());
      for (const value of [undefined, null, 16, Buffer.alloc(16)]) {
        expectSessionKeyError({ ...input, sessionKey: value as unknown as string });
      }
    });

    it('refuses a 16-byte key spelled with a `+` turned into a space', () => {
      const sessionKey = '++++////AAAAAAAAAAAAAA==';
      const input = fixture(userInfo(), sessionKey);
      expect(decryptOpenData(input, AT_NOW)).toEqual(userInfo());
      expectSessionKeyError({ ...input, sessionKey: sessionKey.replace(/\+/g, ' ') });
    });

    it('reports a bad session key before looking at the ciphertext length', () => {
      expectSessionKeyError({
        encryptedData: '',
        iv: randomBytes(16).toString('base64'),
        sessionKey: 'AAAA',
      });
    });
  });

  describe('ciphertext shape', () => {
    it.each([
      ['empty', 0],
      ['1 byte', 1],
      ['15 bytes', 15],
      ['17 bytes', 17],
      ['31 bytes', 31],
      ['33 bytes', 33],
    ])('fails with the uniform decryption error when the ciphertext is %s', (_name, length) => {
      const input = fixture(userInfo());
      expectDecryptionError({ ...input, encryptedData: randomBytes(length).toString('base64') });
    });

    it('fails when a genuine ciphertext loses its last byte', () => {
      const input = fixture(userInfo());
      const truncated = Buffer.from(input.encryptedData, 'base64').subarray(0, -1).toString('base64');
      expectDecryptionError({ ...input, encryptedData: truncated }, PLAINTEXT_VALUES);
    });
  });

  describe('key-dependent failures all look alike', () => {
    it('fails on the wrong key', () => {
      const input = fixture(userInfo());
      for (let i = 0; i < 8; i += 1) {
        expectDecryptionError({ ...input, sessionKey: createSessionKey() }, PLAINTEXT_VALUES);
      }
    });

    it.each([
      ['the first byte', (_length: number) => 0],
      ['a byte of the second block', (length: number) => Math.min(20, length - 1)],
      ['the last byte of the second-to-last block', (length: number) => length - 17],
      ['the last byte', (length: number) => length - 1],
    ])('fails on a flipped ciphertext bit in %s', (_name, position) => {
      const input = fixture(userInfo());
      const bytes = Buffer.from(input.encryptedData, 'base64');
      for (const bit of [0x01, 0x80]) {
        const flipped = Buffer.from(bytes);
        const index = position(flipped.length);
        flipped[index] = (flipped[index] ?? 0) ^ bit;
        expectDecryptionError({ ...input, encryptedData: flipped.toString('base64') }, PLAINTEXT_VALUES);
      }
    });

    const watermarkJson = JSON.stringify(watermark());
    it.each([
      [
        'a lone 0xff byte',
        Buffer.concat([
          Buffer.from(`{"watermark":${watermarkJson},"n":"`),
          Buffer.from([0xff]),
          Buffer.from('"}'),
        ]),
      ],
      [
        'an overlong encoding',
        Buffer.concat([
          Buffer.from(`{"watermark":${watermarkJson},"n":"`),
          Buffer.from([0xc0, 0xaf]),
          Buffer.from('"}'),
        ]),
      ],
      [
        'an encoded surrogate',
        Buffer.concat([
          Buffer.from(`{"watermark":${watermarkJson},"n":"`),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from('"}'),
        ]),
      ],
      [
        'a truncated sequence',
        Buffer.concat([
          Buffer.from(`{"watermark":${watermarkJson},"n":"`),
          Buffer.from([0xe5, 0xbe]),
          Buffer.from('"}'),
        ]),
      ],
      ['Latin-1 text', Buffer.from(`{"watermark":${watermarkJson},"city":"M\u00fcnchen"}`, 'latin1')],
    ])('fails on non-UTF-8 plaintext: %s', (_name, plaintext) => {
      expectDecryptionError(encryptRaw(plaintext, createSessionKey()), [watermarkJson]);
    });

    it.each([
      ['plain text', 'hello open data'],
      ['truncated JSON', `{"watermark":${watermarkJson},"nickName":"Ba`],
      ['single-quoted JSON', `{'watermark':{'appid':'${APP_ID}','timestamp':${NOW_SECONDS}}}`],
      ['JSON with a trailing comma', `{"watermark":${watermarkJson},}`],
      ['JSON followed by garbage', `{"watermark":${watermarkJson}}xyz`],
      ['two JSON objects', `{"watermark":${watermarkJson}}{"watermark":${watermarkJson}}`],
      ['an empty plaintext', ''],
      ['whitespace only', '   '],
    ])('fails on non-JSON plaintext: %s', (_name, plaintext) => {
      expectDecryptionError(encryptRaw(plaintext, createSessionKey()), ['hello open data', 'nickName']);
    });

    it.each([
      ['an array', `[{"watermark":${watermarkJson}}]`],
      ['an empty array', '[]'],
      ['a number', '1700000000'],
      ['null', 'null'],
      ['a string', '"watermark"'],
      ['true', 'true'],
    ])('fails on JSON that is not an object: %s', (_name, plaintext) => {
      expectDecryptionError(encryptRaw(plaintext, createSessionKey()));
    });

    it('throws the same message, code and class for every key-dependent decryption failure', () => {
      const sessionKey = createSessionKey();
      const genuine = fixture(userInfo(), sessionKey);
      const flipped = Buffer.from(genuine.encryptedData, 'base64');
      flipped[0] = (flipped[0] ?? 0) ^ 1;
      const inputs: WxEncryptedOpenData[] = [
        { ...genuine, sessionKey: createSessionKey() },
        { ...genuine, encryptedData: flipped.toString('base64') },
        { ...genuine, encryptedData: '' },
        { ...genuine, encryptedData: randomBytes(20).toString('base64') },
        encryptRaw(Buffer.from([0x7b, 0xff, 0x7d]), sessionKey),
        encryptRaw('not json', sessionKey),
        encryptRaw('[1,2]', sessionKey),
        encryptRaw('42', sessionKey),
        encryptRaw('null', sessionKey),
        encryptRaw(`{"__proto__":{},"watermark":${JSON.stringify(watermark())}}`, sessionKey),
      ];
      const seen = inputs.map((input) => {
        const error = captureError(() => decryptOpenData(input, AT_NOW)) as WxDecryptionError;
        expect(error).toBeInstanceOf(WxDecryptionError);
        return JSON.stringify([
          error.name,
          error.code,
          error.message,
          error.keyDependent,
          Object.keys(error),
        ]);
      });
      expect(new Set(seen).size).toBe(1);
    });
  });

  describe('prototype keys', () => {
    const wm = JSON.stringify(watermark());
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

    afterEach(() => {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(Object.prototype)).toBeNull();
    });

    it.each([
      ['__proto__ at the top', `{"__proto__":{"polluted":true},"watermark":${wm}}`],
      ['__proto__ after the watermark', `{"watermark":${wm},"__proto__":{"polluted":true}}`],
      ['__proto__ with a null value', `{"__proto__":null,"watermark":${wm}}`],
      ['constructor at the top', `{"constructor":{"prototype":{"polluted":true}},"watermark":${wm}}`],
      ['constructor with a string value', `{"constructor":"x","watermark":${wm}}`],
      ['prototype at the top', `{"prototype":{"polluted":true},"watermark":${wm}}`],
      ['__proto__ one level down', `{"a":{"__proto__":{"polluted":true}},"watermark":${wm}}`],
      ['__proto__ three levels down', `{"a":{"b":{"c":{"__proto__":{"polluted":true}}}},"watermark":${wm}}`],
      ['prototype two levels down', `{"a":{"b":{"prototype":{"polluted":true}}},"watermark":${wm}}`],
      [
        'constructor inside the watermark',
        `{"watermark":{"appid":"${APP_ID}","timestamp":${NOW_SECONDS},"constructor":{}}}`,
      ],
      [
        '__proto__ inside the watermark',
        `{"watermark":{"appid":"${APP_ID}","timestamp":${NOW_SECONDS},"__proto__":{"polluted":true}}}`,
      ],
      [
        '__proto__ in an object inside an array',
        `{"stepInfoList":[{"step":1},{"__proto__":{"polluted":true}}],"watermark":${wm}}`,
      ],
      [
        'constructor in a nested array',
        `{"a":[[{"constructor":{"prototype":{"polluted":true}}}]],"watermark":${wm}}`,
      ],
      ['prototype in an array inside an object', `{"a":{"b":[{"prototype":1}]},"watermark":${wm}}`],
      ['__proto__ spelled \\u005f_proto__', `{"\\u005f_proto__":{"polluted":true},"watermark":${wm}}`],
      [
        '__proto__ spelled fully escaped',
        `{"\\u005F\\u005F\\u0070\\u0072\\u006F\\u0074\\u006F\\u005F\\u005F":{"polluted":true},"watermark":${wm}}`,
      ],
      [
        '__proto__ spelled with an escape in the middle',
        `{"__pr\\u006fto__":{"polluted":true},"watermark":${wm}}`,
      ],
      [
        'constructor spelled with an escape',
        `{"constructo\\u0072":{"prototype":{"polluted":true}},"watermark":${wm}}`,
      ],
      ['prototype spelled with an escape', `{"\\u0070rototype":{"polluted":true},"watermark":${wm}}`],
      [
        'an escaped __proto__ nested in an array',
        `{"a":[{"b":{"\\u005f_proto__":{"polluted":true}}}],"watermark":${wm}}`,
      ],
    ])('refuses %s', (_name, plaintext) => {
      const input = encryptRaw(plaintext, createSessionKey());
      expectDecryptionError(input, ['polluted']);
    });

    it('accepts the same words as values, escaped or not, and as parts of longer keys', () => {
      const plaintext =
        `{"note":"__proto__","kind":"constructor","tags":["prototype","__proto__",{"x":"constructor"}],` +
        `"escaped":"\\u005f_proto__","my__proto__":1,"constructorName":"Object","prototypes":[],` +
        `"__proto":2,"proto__":3,"watermark":${wm}}`;
      const result = decryptOpenData(encryptRaw(plaintext, createSessionKey()), AT_NOW);
      expect(result).toEqual({
        note: '__proto__',
        kind: 'constructor',
        tags: ['prototype', '__proto__', { x: 'constructor' }],
        escaped: '__proto__',
        my__proto__: 1,
        constructorName: 'Object',
        prototypes: [],
        __proto: 2,
        proto__: 3,
        watermark: watermark(),
      });
      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    });

    it('accepts other escapes in keys and values', () => {
      const plaintext = `{"nick\\u004eame":"\\u5fae\\u4fe1\\u7528\\u6237","watermark":${wm}}`;
      expect(decryptOpenData(encryptRaw(plaintext, createSessionKey()), AT_NOW)).toEqual({
        nickName: '微信用户',
        watermark: watermark(),
      });
    });
  });

  describe('watermark', () => {
    it.each([
      ['missing', {}],
      ['null', { watermark: null }],
      ['a string', { watermark: `${APP_ID}:${NOW_SECONDS}` }],
      ['a number', { watermark: NOW_SECONDS }],
      ['an array', { watermark: [APP_ID, NOW_SECONDS] }],
      ['true', { watermark: true }],
      ['an empty object', { watermark: {} }],
      ['without appid', { watermark: { timestamp: NOW_SECONDS } }],
      ['without timestamp', { watermark: { appid: APP_ID } }],
      ['with a numeric appid', { watermark: { appid: 42, timestamp: NOW_SECONDS } }],
      ['with a null appid', { watermark: { appid: null, timestamp: NOW_SECONDS } }],
      ['with an object appid', { watermark: { appid: { id: APP_ID }, timestamp: NOW_SECONDS } }],
      ['with a string timestamp', { watermark: { appid: APP_ID, timestamp: String(NOW_SECONDS) } }],
      ['with a fractional timestamp', { watermark: { appid: APP_ID, timestamp: NOW_SECONDS + 0.5 } }],
      ['with a null timestamp', { watermark: { appid: APP_ID, timestamp: null } }],
      ['with a boolean timestamp', { watermark: { appid: APP_ID, timestamp: true } }],
      ['with a negative timestamp', { watermark: { appid: APP_ID, timestamp: -1 } }],
      ['with an unsafe integer timestamp', { watermark: { appid: APP_ID, timestamp: 2 ** 53 } }],
      [
        'with a millisecond-like float timestamp',
        { watermark: { appid: APP_ID, timestamp: NOW_MS / 1000 + 0.001 } },
      ],
      ['under another name', { waterMark: watermark() }],
    ])('refuses a watermark that is %s with WATERMARK_INVALID', (_name, extra) => {
      const payload = { openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', nickName: 'Guangzhou', ...extra };
      expectWatermarkError(fixture(payload), 'WATERMARK_INVALID');
    });

    it('refuses a timestamp that JSON turns into Infinity', () => {
      const input = encryptRaw(`{"watermark":{"appid":"${APP_ID}","timestamp":1e400}}`, createSessionKey());
      expectWatermarkError(input, 'WATERMARK_INVALID');
    });

    it('still requires a valid watermark when the clock checks are off', () => {
      expectWatermarkError(fixture({ nickName: 'x' }), 'WATERMARK_INVALID', { maxAgeSeconds: false });
      expectWatermarkError(fixture({ watermark: { appid: APP_ID } }), 'WATERMARK_INVALID', {
        maxAgeSeconds: false,
      });
    });

    it.each([
      ['another mini program', 'wx0000000000000000'],
      ['a different case', APP_ID.toUpperCase()],
      ['a prefix', APP_ID.slice(0, -1)],
      ['an extension', `${APP_ID}0`],
      ['surrounding whitespace', ` ${APP_ID}`],
      ['an empty appid', ''],
    ])('refuses an appid of %s with WATERMARK_APPID_MISMATCH', (_name, appid) => {
      const input = fixture(userInfo({ watermark: watermark(NOW_SECONDS, appid) }));
      expectWatermarkError(input, 'WATERMARK_APPID_MISMATCH', AT_NOW, [...PLAINTEXT_VALUES, appid]);
    });

    it('checks the appid even when the clock checks are off', () => {
      const input = fixture(userInfo({ watermark: watermark(NOW_SECONDS, 'wx0000000000000000') }));
      expectWatermarkError(input, 'WATERMARK_APPID_MISMATCH', { appId: APP_ID, maxAgeSeconds: false });
    });

    describe('freshness window with a controlled clock', () => {
      const at = (timestamp: number): WxEncryptedOpenData =>
        fixture(userInfo({ watermark: watermark(timestamp) }));

      it.each([
        ['now', 0],
        ['now - 1', -1],
        ['now - 300 (the oldest accepted)', -300],
        ['now + 1', 1],
        ['now + 60 (the furthest ahead accepted)', 60],
      ])('accepts a timestamp of %s with the defaults', (_name, offset) => {
        const result = decryptOpenData(at(NOW_SECONDS + offset), AT_NOW);
        expect(result.watermark.timestamp).toBe(NOW_SECONDS + offset);
      });

      it.each([
        ['now - 301', -301, 'WATERMARK_EXPIRED'],
        ['a day ago', -86_400, 'WATERMARK_EXPIRED'],
        ['0 (the epoch)', -NOW_SECONDS, 'WATERMARK_EXPIRED'],
        ['now + 61', 61, 'WATERMARK_FROM_FUTURE'],
        ['an hour ahead', 3600, 'WATERMARK_FROM_FUTURE'],
        ['in milliseconds by mistake', NOW_MS - NOW_SECONDS, 'WATERMARK_FROM_FUTURE'],
      ] as const)('refuses a timestamp of %s with the defaults', (_name, offset, code) => {
        expectWatermarkError(at(NOW_SECONDS + offset), code);
      });

      it('counts in whole seconds: the milliseconds of `now` do not narrow the window', () => {
        for (const now of [NOW_MS, NOW_MS + 1, NOW_MS + 500, NOW_MS + 999]) {
          const options = { appId: APP_ID, now };
          expect(() => decryptOpenData(at(NOW_SECONDS - 300), options)).not.toThrow();
          expect(() => decryptOpenData(at(NOW_SECONDS + 60), options)).not.toThrow();
          expectWatermarkError(at(NOW_SECONDS - 301), 'WATERMARK_EXPIRED', options);
          expectWatermarkError(at(NOW_SECONDS + 61), 'WATERMARK_FROM_FUTURE', options);
        }
      });

      it('moves the window with the next whole second', () => {
        const options = { appId: APP_ID, now: NOW_MS + 1000 };
        expectWatermarkError(at(NOW_SECONDS - 300), 'WATERMARK_EXPIRED', options);
        expect(() => decryptOpenData(at(NOW_SECONDS + 61), options)).not.toThrow();
      });

      it('takes `now` as a Date', () => {
        const now = new Date(NOW_MS + 250);
        expect(() => decryptOpenData(at(NOW_SECONDS - 300), { now })).not.toThrow();
        expect(() => decryptOpenData(at(NOW_SECONDS + 60), { now })).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS - 301), 'WATERMARK_EXPIRED', { now });
        expectWatermarkError(at(NOW_SECONDS + 61), 'WATERMARK_FROM_FUTURE', { now });
      });

      it('takes `now` as milliseconds, not seconds', () => {
        expect(() => decryptOpenData(at(NOW_SECONDS), { now: NOW_MS })).not.toThrow();
        // The same instant given in seconds is 1970: the data then looks far ahead.
        expectWatermarkError(at(NOW_SECONDS), 'WATERMARK_FROM_FUTURE', { now: NOW_SECONDS });
      });

      it('honours a custom maxAgeSeconds, inclusively', () => {
        const options = { appId: APP_ID, now: NOW_MS, maxAgeSeconds: 10 };
        expect(() => decryptOpenData(at(NOW_SECONDS - 10), options)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS - 11), 'WATERMARK_EXPIRED', options);
        expectWatermarkError(at(NOW_SECONDS - 300), 'WATERMARK_EXPIRED', options);
        // The future side keeps its default.
        expect(() => decryptOpenData(at(NOW_SECONDS + 60), options)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS + 61), 'WATERMARK_FROM_FUTURE', options);

        const long = { now: NOW_MS, maxAgeSeconds: 86_400 };
        expect(() => decryptOpenData(at(NOW_SECONDS - 86_400), long)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS - 86_401), 'WATERMARK_EXPIRED', long);
      });

      it('with maxAgeSeconds 0 accepts only the current second (and the tolerated future)', () => {
        const options = { now: NOW_MS + 999, maxAgeSeconds: 0 };
        expect(() => decryptOpenData(at(NOW_SECONDS), options)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS - 1), 'WATERMARK_EXPIRED', options);
      });

      it('honours a custom clockToleranceSeconds, inclusively', () => {
        const options = { now: NOW_MS, clockToleranceSeconds: 5 };
        expect(() => decryptOpenData(at(NOW_SECONDS + 5), options)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS + 6), 'WATERMARK_FROM_FUTURE', options);
        // The past side keeps its default.
        expect(() => decryptOpenData(at(NOW_SECONDS - 300), options)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS - 301), 'WATERMARK_EXPIRED', options);

        const none = { now: NOW_MS, clockToleranceSeconds: 0 };
        expect(() => decryptOpenData(at(NOW_SECONDS), none)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS + 1), 'WATERMARK_FROM_FUTURE', none);

        const wide = { now: NOW_MS, clockToleranceSeconds: 600 };
        expect(() => decryptOpenData(at(NOW_SECONDS + 600), wide)).not.toThrow();
        expectWatermarkError(at(NOW_SECONDS + 601), 'WATERMARK_FROM_FUTURE', wide);
      });

      it('with maxAgeSeconds false accepts any age (and switches the clock checks off)', () => {
        const options = { appId: APP_ID, now: NOW_MS, maxAgeSeconds: false } as const;
        for (const timestamp of [0, 1, NOW_SECONDS - 301, NOW_SECONDS - 10 * 365 * 86_400, NOW_SECONDS]) {
          expect(decryptOpenData(at(timestamp), options).watermark.timestamp).toBe(timestamp);
        }
        expect(decryptOpenData(at(NOW_SECONDS + 3600), options).watermark.timestamp).toBe(NOW_SECONDS + 3600);
      });
    });
  });
});
