import {
  readEncryptedEnvelope,
  readSignedRawData,
  WX_ENVELOPE_LIMITS,
  WxMalformedPayloadError,
} from '../../lib/index.js';
import { captureError } from '../support/capture-error.js';

function expectMalformed(
  fn: () => unknown,
  field: string,
  secrets: readonly unknown[] = [],
): WxMalformedPayloadError {
  const error = captureError(fn);
  expect(error).toBeInstanceOf(WxMalformedPayloadError);
  const malformed = error as WxMalformedPayloadError;
  expect(malformed.field).toBe(field);
  expect(malformed.code).toBe('MALFORMED_PAYLOAD');
  expect(malformed.keyDependent).toBe(false);
  expect(malformed.message.startsWith(`${field}: `)).toBe(true);
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length >= 4) {
      expect(malformed.message).not.toContain(secret);
      expect(JSON.stringify(malformed)).not.toContain(secret);
    }
  }
  return malformed;
}

const RAW_DATA = '{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou"}';
const SIGNATURE = '75e81ceda165f4ffa64f4068af58c64b8f54b88c';
const ENCRYPTED = 'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC';
const IV = 'r7BXXKkLb8qrSNn05n0qiA==';

interface PairCase {
  name: string;
  read: (body: unknown) => Record<string, string> | undefined;
  first: keyof typeof WX_ENVELOPE_LIMITS;
  second: keyof typeof WX_ENVELOPE_LIMITS;
  firstValue: string;
  secondValue: string;
}

const CASES: PairCase[] = [
  {
    name: 'readSignedRawData',
    read: (body) => readSignedRawData(body) as Record<string, string> | undefined,
    first: 'rawData',
    second: 'signature',
    firstValue: RAW_DATA,
    secondValue: SIGNATURE,
  },
  {
    name: 'readEncryptedEnvelope',
    read: (body) => readEncryptedEnvelope(body) as Record<string, string> | undefined,
    first: 'encryptedData',
    second: 'iv',
    firstValue: ENCRYPTED,
    secondValue: IV,
  },
];

describe('WX_ENVELOPE_LIMITS', () => {
  it('has the documented limits and cannot be changed', () => {
    expect(WX_ENVELOPE_LIMITS).toEqual({ rawData: 4096, signature: 128, encryptedData: 8192, iv: 64 });
    expect(Object.isFrozen(WX_ENVELOPE_LIMITS)).toBe(true);
  });
});

describe('typed results', () => {
  it('readSignedRawData gives exactly rawData and signature', () => {
    const result = readSignedRawData({
      rawData: RAW_DATA,
      signature: SIGNATURE,
      encryptedData: ENCRYPTED,
      iv: IV,
    });
    expect(result).toStrictEqual({ rawData: RAW_DATA, signature: SIGNATURE });
    expect(result?.rawData).toBe(RAW_DATA);
  });

  it('readEncryptedEnvelope gives exactly encryptedData and iv', () => {
    const result = readEncryptedEnvelope({
      rawData: RAW_DATA,
      signature: SIGNATURE,
      encryptedData: ENCRYPTED,
      iv: IV,
    });
    expect(result).toStrictEqual({ encryptedData: ENCRYPTED, iv: IV });
    expect(result?.iv).toBe(IV);
  });

  it('the two halves are independent: one may be present without the other', () => {
    expect(readSignedRawData({ encryptedData: ENCRYPTED, iv: IV })).toBeUndefined();
    expect(readEncryptedEnvelope({ rawData: RAW_DATA, signature: SIGNATURE })).toBeUndefined();
  });
});

describe.each(CASES)('$name', ({ read, first, second, firstValue, secondValue }) => {
  const body = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    [first]: firstValue,
    [second]: secondValue,
    ...extra,
  });

  it('reads both fields, ignoring everything else', () => {
    expect(read(body({ cloudID: 'x', other: 1 }))).toStrictEqual({
      [first]: firstValue,
      [second]: secondValue,
    });
  });

  it('returns a new object, not the body', () => {
    const input = body();
    const result = read(input);
    expect(result).not.toBe(input);
    expect(input).toEqual(body());
  });

  it('returns undefined when neither field is there', () => {
    expect(read({})).toBeUndefined();
    expect(read({ unrelated: 'value', code: '0a3' })).toBeUndefined();
    expect(read({ [first]: undefined, [second]: undefined })).toBeUndefined();
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', `${first}=x&${second}=y`],
    ['a number', 42],
    ['a boolean', true],
    ['an array', [firstValue, secondValue]],
  ])('returns undefined for a body that is %s', (_name, input) => {
    expect(read(input)).toBeUndefined();
  });

  it('reads a body without a prototype (as some body parsers build them)', () => {
    const input = Object.assign(Object.create(null) as Record<string, unknown>, body());
    expect(read(input)).toStrictEqual({ [first]: firstValue, [second]: secondValue });
  });

  it(`refuses ${first} without ${second}, naming ${second}`, () => {
    const error = expectMalformed(() => read({ [first]: firstValue }), second, [firstValue]);
    expect(error.message).toBe(`${second}: is required`);
    expectMalformed(() => read({ [first]: firstValue, [second]: undefined }), second, [firstValue]);
  });

  it(`refuses ${second} without ${first}, naming ${first}`, () => {
    const error = expectMalformed(() => read({ [second]: secondValue }), first, [secondValue]);
    expect(error.message).toBe(`${first}: is required`);
  });

  it.each([
    ['a number', 123456],
    ['null', null],
    ['a boolean', false],
    ['an array', ['abcdef']],
    ['an object', { value: 'abcdef' }],
    ['a Buffer', Buffer.from('abcdef')],
  ])('refuses a field that is %s, naming it', (_name, value) => {
    expect(expectMalformed(() => read(body({ [first]: value })), first, [secondValue]).message).toBe(
      `${first}: must be a string`,
    );
    expect(expectMalformed(() => read(body({ [second]: value })), second, [firstValue]).message).toBe(
      `${second}: must be a string`,
    );
  });

  it('reports the first field when both are wrong', () => {
    expectMalformed(() => read({ [first]: 1, [second]: 2 }), first);
  });

  it.each(['first', 'second'] as const)('enforces the size limit of the %s field, inclusively', (which) => {
    const field = which === 'first' ? first : second;
    const limit = WX_ENVELOPE_LIMITS[field];
    const atLimit = 'A'.repeat(limit);
    expect(read(body({ [field]: atLimit }))?.[field]).toBe(atLimit);
    const over = `${'A'.repeat(limit - 6)}SECRET+`;
    expect(over).toHaveLength(limit + 1);
    const error = expectMalformed(() => read(body({ [field]: over })), field, [over, over.slice(0, 32)]);
    expect(error.message).toContain(String(limit));
    expectMalformed(() => read(body({ [field]: 'A'.repeat(limit * 10) })), field);
  });

  it('measures the limit in characters', () => {
    const limit = WX_ENVELOPE_LIMITS[first];
    // Multi-byte characters: at the limit in characters, far over it in bytes.
    const atLimit = '微'.repeat(limit);
    expect(read(body({ [first]: atLimit }))?.[first]).toBe(atLimit);
    expectMalformed(() => read(body({ [first]: '微'.repeat(limit + 1) })), first);
  });

  it('ignores inherited properties', () => {
    const inheritedBoth = Object.create(body()) as Record<string, unknown>;
    expect(read(inheritedBoth)).toBeUndefined();

    const inheritedSecond = Object.create({ [second]: secondValue }) as Record<string, unknown>;
    inheritedSecond[first] = firstValue;
    expectMalformed(() => read(inheritedSecond), second);

    const inheritedFirst = Object.create({ [first]: firstValue }) as Record<string, unknown>;
    inheritedFirst[second] = secondValue;
    expectMalformed(() => read(inheritedFirst), first);
  });

  it('ignores fields placed on Object.prototype (prototype pollution)', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto[first] = 'polluted-first';
    proto[second] = 'polluted-second';
    try {
      expect(read({})).toBeUndefined();
      expectMalformed(() => read({ [first]: firstValue }), second);
    } finally {
      delete proto[first];
      delete proto[second];
    }
    expect(Object.hasOwn(Object.prototype, first)).toBe(false);
  });
});
