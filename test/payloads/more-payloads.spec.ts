import { createDecipheriv } from 'node:crypto';
import {
  decryptOpenData,
  matchesActivity,
  toOpenDataPayload,
  WX_CHAT_TYPES,
  WxDecryptionError,
  WxGameClubData,
  WxGameClubDataItem,
  WxGroupEnterInfo,
  WxInteractiveKv,
  WxOpenDataError,
  WxPayloadValidationError,
  WxPrivateMessageInfo,
  WxShareInfo,
  WxUserInteractiveStorage,
  type WxOpenDataPayload,
  type WxPayloadType,
} from '../../lib/index.js';
import { createSessionKey, encryptOpenData } from '../../lib/testing/index.js';
import { captureError } from '../support/capture-error.js';

const APP_ID = 'wx4f4bc4dec97d474b';
const NOW_SECONDS = 1_700_000_000;
const watermark = { timestamp: NOW_SECONDS, appid: APP_ID };
const decryptOptions = { appId: APP_ID, now: NOW_SECONDS * 1000 };

/** Encrypts with a fresh key, decrypts and validates: the path the guard takes. */
function roundTrip<T extends object>(type: WxPayloadType<T>, payload: object): T {
  const sessionKey = createSessionKey();
  const envelope = encryptOpenData(payload, sessionKey);
  return toOpenDataPayload(type, decryptOpenData({ ...envelope, sessionKey }, decryptOptions));
}

function expectInvalid(fn: () => unknown, paths: readonly string[], values: readonly string[] = []): void {
  const error = captureError(fn);
  expect(error).toBeInstanceOf(WxPayloadValidationError);
  const invalid = error as WxPayloadValidationError;
  expect(invalid.keyDependent).toBe(true);
  expect([...invalid.properties].sort()).toEqual([...paths].sort());
  for (const value of values) expect(JSON.stringify({ m: invalid.message, e: invalid })).not.toContain(value);
}

/** XORs `from` into `to` over the first bytes of the iv: what an attacker who knows the plaintext can do. */
function rewriteFirstBlock(iv: string, from: string, to: string): string {
  const bytes = Buffer.from(iv, 'base64');
  const a = Buffer.from(from, 'utf8');
  const b = Buffer.from(to, 'utf8');
  if (a.length !== b.length || a.length > 16) throw new Error('same length, at most one block');
  for (let i = 0; i < a.length; i += 1) bytes[i] = (bytes[i] as number) ^ (a[i] as number) ^ (b[i] as number);
  return bytes.toString('base64');
}

describe('WxGroupEnterInfo', () => {
  // The worked example of the spec (computed there, recomputed here with node:crypto).
  const SPEC_KEY = 'HyVFkGl5F5OQWJZZaNzBBg==';
  const SPEC_IV = 'r7BXXKkLb8qrSNn05n0qiA==';
  const SPEC_PLAINTEXT =
    '{"opengid":"tG_OPENGID_0001","open_single_roomid":"","group_openid":"oGRP_OPENID_0001","chat_type":3,"watermark":{"timestamp":1700000000,"appid":"wx4f4bc4dec97d474b"}}';
  const SPEC_CIPHERTEXT =
    'OGxMi5BH7b46RPhl1d4r/OaTQzAwAhSJs02zd08AT2/u76pi6kJu0iDrYBLxLgFrg7PsFF9JAMZ+1ITP9DEvCw9q8tMKDjRYFvqPQRogVoRu8NXQfYuLryxAu6cyuYAXXY3E9J3SdgItuYrz7b9VwR4rxoITMvziRMUXBjBWP0erPFWFVaDbBqVFTjluCURUDUdy9X797bMt60CcNpYG/4CzflvetlLMO1hn+h2clS4=';

  it('decrypts the worked example of the spec to its plaintext and DTO (known answer)', () => {
    const decipher = createDecipheriv(
      'aes-128-cbc',
      Buffer.from(SPEC_KEY, 'base64'),
      Buffer.from(SPEC_IV, 'base64'),
    );
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(SPEC_CIPHERTEXT, 'base64')),
      decipher.final(),
    ]).toString('utf8');
    expect(plaintext).toBe(SPEC_PLAINTEXT);
    const reencrypted = encryptOpenData(JSON.parse(SPEC_PLAINTEXT), SPEC_KEY, Buffer.from(SPEC_IV, 'base64'));
    expect(reencrypted.encryptedData).toBe(SPEC_CIPHERTEXT);

    const plain = decryptOpenData(
      { encryptedData: SPEC_CIPHERTEXT, iv: SPEC_IV, sessionKey: SPEC_KEY },
      decryptOptions,
    );
    const info = toOpenDataPayload(WxGroupEnterInfo, plain);
    expect(info).toBeInstanceOf(WxGroupEnterInfo);
    expect(info.opengid).toBe('tG_OPENGID_0001');
    expect(info.group_openid).toBe('oGRP_OPENID_0001');
    expect(info.chat_type).toBe(WX_CHAT_TYPES.weChatGroup);
    // WeChat's "" for an id that does not apply is "not provided".
    expect(info.open_single_roomid).toBeUndefined();
    expect(info.watermark).toEqual(watermark);
  });

  it('accepts a one-to-one chat: open_single_roomid without opengid', () => {
    const info = roundTrip(WxGroupEnterInfo, {
      opengid: '',
      open_single_roomid: 'sR_ROOM_0001',
      group_openid: 'oGRP_1',
      chat_type: WX_CHAT_TYPES.weChatContact,
      watermark,
    });
    expect(info.opengid).toBeUndefined();
    expect(info.open_single_roomid).toBe('sR_ROOM_0001');
  });

  it('accepts the pre-3.7.8 shape: opengid alone, no chat_type', () => {
    const info = roundTrip(WxGroupEnterInfo, { opengid: 'tG_1', watermark });
    expect(info).toMatchObject({ opengid: 'tG_1', watermark });
    expect(info.chat_type).toBeUndefined();
  });

  it('requires a chat id: neither opengid nor open_single_roomid names both', () => {
    expectInvalid(
      () =>
        toOpenDataPayload(WxGroupEnterInfo, { opengid: '', open_single_roomid: '', chat_type: 3, watermark }),
      ['opengid', 'open_single_roomid'],
    );
    expectInvalid(
      () => toOpenDataPayload(WxGroupEnterInfo, { chat_type: 3, watermark }),
      ['opengid', 'open_single_roomid'],
    );
  });

  it.each([[0], [5], [2.5], ['3']])('refuses chat_type %p (documented: 1 to 4)', (chatType) => {
    expectInvalid(
      () => toOpenDataPayload(WxGroupEnterInfo, { opengid: 'tG_1', chat_type: chatType, watermark }),
      ['chat_type'],
    );
  });

  it('accepts every documented chat_type', () => {
    for (const chatType of Object.values(WX_CHAT_TYPES)) {
      expect(
        toOpenDataPayload(WxGroupEnterInfo, { opengid: 'tG_1', chat_type: chatType, watermark }).chat_type,
      ).toBe(chatType);
    }
  });

  it('refuses ids that are not strings or too long, without echoing them', () => {
    expectInvalid(
      () =>
        toOpenDataPayload(WxGroupEnterInfo, {
          opengid: 12345678,
          group_openid: 'G'.repeat(129),
          watermark,
        }),
      ['opengid', 'group_openid'],
      ['12345678', 'GGGGGGGG'],
    );
  });

  it('is not WxShareInfo: the camel-case openGId does not satisfy it, and opengid does not satisfy WxShareInfo', () => {
    expect(() => toOpenDataPayload(WxGroupEnterInfo, { openGId: 'tG_1', watermark })).toThrow(
      WxPayloadValidationError,
    );
    expect(() => toOpenDataPayload(WxShareInfo, { opengid: 'tG_1', watermark })).toThrow(
      WxPayloadValidationError,
    );
  });

  it('residual of an iv flip: the first 16 plaintext bytes, i.e. the first 4 characters of opengid', () => {
    const sessionKey = createSessionKey();
    const plain = { opengid: 'tG_OPENGID_0001', chat_type: 3, watermark };
    const envelope = encryptOpenData(plain, sessionKey);
    // {"opengid":"tG_O is the first block: its last 4 bytes are the start of the id.
    const iv = rewriteFirstBlock(envelope.iv, '{"opengid":"tG_O', '{"opengid":"XXXO');
    const forged = toOpenDataPayload(
      WxGroupEnterInfo,
      decryptOpenData({ ...envelope, iv, sessionKey }, decryptOptions),
    );
    expect(forged.opengid).toBe('XXXOPENGID_0001');
    // Renaming the first key to one the DTO does not declare is refused.
    const renamed = rewriteFirstBlock(envelope.iv, '{"opengid":"tG_O', '{"opengix":"tG_O');
    expect(() =>
      toOpenDataPayload(
        WxGroupEnterInfo,
        decryptOpenData({ ...envelope, iv: renamed, sessionKey }, decryptOptions),
      ),
    ).toThrow(WxPayloadValidationError);
  });
});

describe('WxPrivateMessageInfo (assumed shape: { activityId, watermark })', () => {
  it('builds a typed instance and matches the activity the server created', () => {
    const info = roundTrip(WxPrivateMessageInfo, { activityId: '1048_4f61uDloF8RACwM', watermark });
    expect(info).toBeInstanceOf(WxPrivateMessageInfo);
    expect(matchesActivity(info, '1048_4f61uDloF8RACwM')).toBe(true);
    expect(matchesActivity(info, '1048_other')).toBe(false);
    expect(matchesActivity(info, '')).toBe(false);
  });

  it('ignores the client-side valid flag even when it is inside the payload', () => {
    const info = roundTrip(WxPrivateMessageInfo, { activityId: 'A1', valid: true, watermark });
    expect(info).not.toHaveProperty('valid');
  });

  it.each([
    ['empty', ''],
    ['a number', 12345678],
    ['missing', undefined],
  ])('refuses an activityId that is %s', (_name, activityId) => {
    expectInvalid(
      () => toOpenDataPayload(WxPrivateMessageInfo, { activityId, watermark }),
      ['activityId'],
      ['12345678'],
    );
  });

  it('refuses the empty string a 2021 report says it decrypted to: it is not a JSON object', () => {
    const sessionKey = createSessionKey();
    const envelope = encryptOpenData('' as unknown as object, sessionKey);
    expect(captureError(() => decryptOpenData({ ...envelope, sessionKey }, decryptOptions))).toBeInstanceOf(
      WxDecryptionError,
    );
  });
});

describe('WxUserInteractiveStorage (assumed shape: { kv_list, watermark })', () => {
  it('builds typed entries, reading a numeric string value as its number', () => {
    const storage = roundTrip(WxUserInteractiveStorage, {
      kv_list: [
        { key: '1', value: 0 },
        { key: '50', value: '42' },
      ],
      watermark,
    });
    expect(storage.kv_list[0]).toBeInstanceOf(WxInteractiveKv);
    expect(storage.kv_list).toEqual([
      { key: '1', value: 0 },
      { key: '50', value: 42 },
    ]);
  });

  it.each([['0'], ['51'], ['01'], ['score'], [''], ['1 ']])('refuses key %p (only "1" to "50")', (key) => {
    expectInvalid(
      () => toOpenDataPayload(WxUserInteractiveStorage, { kv_list: [{ key, value: 1 }], watermark }),
      ['kv_list.0.key'],
    );
  });

  it('names a value that is not a whole number and a list that is not an array', () => {
    expectInvalid(
      () => toOpenDataPayload(WxUserInteractiveStorage, { kv_list: [{ key: '2', value: 1.5 }], watermark }),
      ['kv_list.0.value'],
    );
    const error = captureError(() =>
      toOpenDataPayload(WxUserInteractiveStorage, { kv_list: { key: '1' }, watermark }),
    );
    expect(error).toBeInstanceOf(WxPayloadValidationError);
    expect((error as WxPayloadValidationError).properties).toContain('kv_list');
  });
});

describe('WxGameClubData', () => {
  it('builds typed dataList entries', () => {
    const data = roundTrip(WxGameClubData, {
      dataList: [
        { dataType: 1, value: 1_700_000_000 },
        { dataType: 10, value: 3, subKey: 'topic-1' },
      ],
      watermark,
    });
    expect(data.dataList[0]).toBeInstanceOf(WxGameClubDataItem);
    expect(data.dataList[1]).toEqual({ dataType: 10, value: 3, subKey: 'topic-1' });
  });

  it.each([[2], [0], [12], ['1']])('refuses dataType %p (documented: 1, 3 to 11)', (dataType) => {
    expectInvalid(
      () => toOpenDataPayload(WxGameClubData, { dataList: [{ dataType, value: 1 }], watermark }),
      ['dataList.0.dataType'],
    );
  });

  it('refuses a negative value, naming the entry', () => {
    expectInvalid(
      () =>
        toOpenDataPayload(WxGameClubData, {
          dataList: [
            { dataType: 3, value: 0 },
            { dataType: 4, value: -1 },
          ],
          watermark,
        }),
      ['dataList.1.value'],
    );
  });
});

describe('the watermark of every new DTO', () => {
  const dtos: [string, WxPayloadType<WxOpenDataPayload>, Record<string, unknown>][] = [
    ['WxGroupEnterInfo', WxGroupEnterInfo, { opengid: 'tG_1', watermark }],
    ['WxPrivateMessageInfo', WxPrivateMessageInfo, { activityId: 'A1', watermark }],
    ['WxUserInteractiveStorage', WxUserInteractiveStorage, { kv_list: [], watermark }],
    ['WxGameClubData', WxGameClubData, { dataList: [], watermark }],
  ];

  it.each(dtos)('%s requires a well-formed watermark', (_name, type, valid) => {
    const { watermark: _dropped, ...withoutWatermark } = valid;
    expectInvalid(() => toOpenDataPayload(type, withoutWatermark), ['watermark']);
    expectInvalid(
      () => toOpenDataPayload(type, { ...valid, watermark: { appid: APP_ID, timestamp: -1 } }),
      ['watermark.timestamp'],
    );
  });

  it.each(dtos)('%s fails decryption under another key as one WxDecryptionError', (_name, _type, valid) => {
    const envelope = encryptOpenData(valid, createSessionKey());
    const error = captureError(() =>
      decryptOpenData({ ...envelope, sessionKey: createSessionKey() }, decryptOptions),
    );
    expect(error).toBeInstanceOf(WxOpenDataError);
    expect((error as WxOpenDataError).keyDependent).toBe(true);
  });
});
