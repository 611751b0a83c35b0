import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import {
  decryptOpenData,
  toOpenDataPayload,
  WxOpenDataError,
  WxOpenDataPayload,
  WxPayloadValidationError,
  WxPhoneNumber,
  WxShareInfo,
  WxStepInfo,
  WxUserInfo,
  WxWatermark,
  WxWeRunData,
  type WxPayloadType,
} from '../../lib/index.js';
import { createSessionKey, encryptOpenData } from '../../lib/testing/index.js';
import { captureError } from '../support/capture-error.js';
import { realmClone } from '../support/realm-clone.js';

const APP_ID = 'wx4f4bc4dec97d474b';
const NOW_SECONDS = 1_700_000_000;
const watermark = (): { appid: string; timestamp: number } => ({ appid: APP_ID, timestamp: NOW_SECONDS });

const USER_INFO = {
  openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
  nickName: 'Band',
  gender: 1,
  language: 'zh_CN',
  city: 'Guangzhou',
  province: 'Guangdong',
  country: 'CN',
  avatarUrl:
    'http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0',
  unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
  watermark: watermark(),
};

/** The 2022-style anonymous user info: no ids, the placeholder nickname, empty location fields. */
const ANONYMOUS_USER_INFO = {
  nickName: '微信用户',
  gender: 0,
  language: '',
  city: '',
  province: '',
  country: '',
  avatarUrl:
    'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132',
  watermark: watermark(),
};

const PHONE_NUMBER = {
  phoneNumber: '13580006666',
  purePhoneNumber: '13580006666',
  countryCode: '86',
  watermark: watermark(),
};

const DAY = 86_400;
const WE_RUN = {
  stepInfoList: [
    { timestamp: 1_445_866_601, step: 100 },
    { timestamp: 1_445_876_601, step: 120 },
    { timestamp: 1_445_876_601 + DAY, step: 0 },
  ],
  watermark: watermark(),
};

const SHARE_INFO = { openGId: 'GRrHy0Q8fZnlq3FzCoTNy9lwR4Xk', watermark: watermark() };

/** Asserts a validation failure naming exactly `paths`, whose message echoes none of `values`. */
function expectInvalid(
  fn: () => unknown,
  paths: readonly string[],
  values: readonly string[] = [],
): WxPayloadValidationError {
  const error = captureError(fn);
  expect(error).toBeInstanceOf(WxPayloadValidationError);
  expect(error).toBeInstanceOf(WxOpenDataError);
  const invalid = error as WxPayloadValidationError;
  expect(invalid.code).toBe('PAYLOAD_INVALID');
  expect(invalid.keyDependent).toBe(true);
  expect([...invalid.properties].sort()).toEqual([...paths].sort());
  for (const path of paths) expect(invalid.message).toContain(path);
  for (const value of values) {
    expect(invalid.message).not.toContain(value);
    expect(JSON.stringify(invalid)).not.toContain(value);
  }
  return invalid;
}

describe('toOpenDataPayload with the built-in DTOs', () => {
  describe('WxUserInfo', () => {
    it('builds a typed instance from a realistic payload', () => {
      const user = toOpenDataPayload(WxUserInfo, USER_INFO);
      expect(user).toBeInstanceOf(WxUserInfo);
      expect(user).toBeInstanceOf(WxOpenDataPayload);
      expect(user.watermark).toBeInstanceOf(WxWatermark);
      expect(user).toEqual(USER_INFO);
      expect(user.openId).toBe(USER_INFO.openId);
      expect(user.gender).toBe(1);
      expect(user.watermark.timestamp).toBe(NOW_SECONDS);
    });

    it('does not return or modify the plain object', () => {
      const plain = realmClone(USER_INFO);
      const user = toOpenDataPayload(WxUserInfo, plain);
      expect(user).not.toBe(plain);
      expect(user.watermark).not.toBe(plain.watermark);
      expect(plain).toEqual(USER_INFO);
    });

    it('accepts the anonymous 2022-style user info (no ids, "微信用户", empty location)', () => {
      const user = toOpenDataPayload(WxUserInfo, ANONYMOUS_USER_INFO);
      expect(user).toBeInstanceOf(WxUserInfo);
      expect(user.nickName).toBe('微信用户');
      expect(user.openId).toBeUndefined();
      expect(user.unionId).toBeUndefined();
      expect(user.city).toBe('');
      expect(user.gender).toBe(0);
    });

    it('accepts a payload without the optional fields at all', () => {
      const { nickName, gender, avatarUrl } = USER_INFO;
      const user = toOpenDataPayload(WxUserInfo, { nickName, gender, avatarUrl, watermark: watermark() });
      expect(user).toEqual({ nickName, gender, avatarUrl, watermark: watermark() });
    });

    it('accepts every documented gender and refuses others', () => {
      for (const gender of [0, 1, 2]) {
        expect(toOpenDataPayload(WxUserInfo, { ...USER_INFO, gender }).gender).toBe(gender);
      }
      for (const gender of [3, -1, 1.5, '1', null]) {
        expectInvalid(() => toOpenDataPayload(WxUserInfo, { ...USER_INFO, gender }), ['gender']);
      }
    });

    it('strips unknown fields at the top and inside the watermark instead of refusing them', () => {
      const user = toOpenDataPayload(WxUserInfo, {
        ...USER_INFO,
        is_demote: true,
        newFieldFromWeChat: { nested: 'value' },
        watermark: { ...watermark(), extra: 'x' },
      });
      expect(user).toEqual(USER_INFO);
      expect(user).not.toHaveProperty('is_demote');
      expect(user).not.toHaveProperty('newFieldFromWeChat');
      expect(user.watermark).not.toHaveProperty('extra');
    });

    it.each([
      ['nickName', { nickName: 42 }],
      ['avatarUrl', { avatarUrl: ['http://wx.qlogo.cn/x'] }],
      ['openId', { openId: 123456 }],
      ['unionId', { unionId: { id: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA' } }],
      ['city', { city: 7 }],
      ['language', { language: false }],
      ['nickName', { nickName: 'n'.repeat(257) }],
      ['openId', { openId: 'o'.repeat(129) }],
    ])('refuses a wrong %s, naming it', (path, change) => {
      expectInvalid(
        () => toOpenDataPayload(WxUserInfo, { ...USER_INFO, ...change }),
        [path],
        ['ocMvos6NjeKLIBqg5Mr9QjxrP1FA', 'wx.qlogo.cn', 'nnnnnnnn', 'oooooooo', '123456'],
      );
    });

    it('names every failing path at once', () => {
      expectInvalid(
        () =>
          toOpenDataPayload(WxUserInfo, {
            ...USER_INFO,
            nickName: null,
            gender: 'male',
            avatarUrl: undefined,
          }),
        ['nickName', 'gender', 'avatarUrl'],
        ['male'],
      );
    });

    it('refuses missing required fields', () => {
      expectInvalid(
        () => toOpenDataPayload(WxUserInfo, { watermark: watermark() }),
        ['nickName', 'gender', 'avatarUrl'],
      );
    });
  });

  describe('WxPhoneNumber', () => {
    it('builds a typed instance from a realistic payload', () => {
      const phone = toOpenDataPayload(WxPhoneNumber, PHONE_NUMBER);
      expect(phone).toBeInstanceOf(WxPhoneNumber);
      expect(phone.watermark).toBeInstanceOf(WxWatermark);
      expect(phone).toEqual(PHONE_NUMBER);
    });

    it('accepts a number outside mainland China', () => {
      const phone = toOpenDataPayload(WxPhoneNumber, {
        phoneNumber: '+1 2025550123',
        purePhoneNumber: '2025550123',
        countryCode: '1',
        watermark: watermark(),
      });
      expect(phone.countryCode).toBe('1');
      expect(phone.phoneNumber).toBe('+1 2025550123');
    });

    it('turns a numeric countryCode 86 into the string "86"', () => {
      const phone = toOpenDataPayload(WxPhoneNumber, { ...PHONE_NUMBER, countryCode: 86 });
      expect(phone.countryCode).toBe('86');
      expect(typeof phone.countryCode).toBe('string');
    });

    it('turns a numeric countryCode of another country into its digits', () => {
      expect(toOpenDataPayload(WxPhoneNumber, { ...PHONE_NUMBER, countryCode: 1 }).countryCode).toBe('1');
      expect(toOpenDataPayload(WxPhoneNumber, { ...PHONE_NUMBER, countryCode: 852 }).countryCode).toBe('852');
    });

    it.each([
      ['a plus sign', '+86'],
      ['too many digits', '86861'],
      ['letters', 'CN'],
      ['an empty string', ''],
      ['a negative number', -86],
      ['a fractional number', 8.6],
      ['a large number', 86_861],
      ['null', null],
      ['a boolean', true],
    ])('refuses a countryCode that is %s', (_name, countryCode) => {
      expectInvalid(
        () => toOpenDataPayload(WxPhoneNumber, { ...PHONE_NUMBER, countryCode }),
        ['countryCode'],
      );
    });

    it('refuses phone fields that are not strings, without echoing the number', () => {
      expectInvalid(
        () =>
          toOpenDataPayload(WxPhoneNumber, {
            ...PHONE_NUMBER,
            phoneNumber: 13_580_006_666,
            purePhoneNumber: ['13580006666'],
          }),
        ['phoneNumber', 'purePhoneNumber'],
        ['13580006666'],
      );
    });

    it('refuses an over-long phone number', () => {
      expectInvalid(
        () => toOpenDataPayload(WxPhoneNumber, { ...PHONE_NUMBER, phoneNumber: '1'.repeat(33) }),
        ['phoneNumber'],
      );
    });

    it('strips unknown fields', () => {
      const phone = toOpenDataPayload(WxPhoneNumber, { ...PHONE_NUMBER, carrier: 'CMCC' });
      expect(phone).toEqual(PHONE_NUMBER);
      expect(phone).not.toHaveProperty('carrier');
    });
  });

  describe('WxWeRunData', () => {
    it('builds a typed instance with typed step entries', () => {
      const run = toOpenDataPayload(WxWeRunData, WE_RUN);
      expect(run).toBeInstanceOf(WxWeRunData);
      expect(run.stepInfoList).toHaveLength(3);
      for (const entry of run.stepInfoList) expect(entry).toBeInstanceOf(WxStepInfo);
      expect(run.stepInfoList[1]?.step).toBe(120);
      expect(run).toEqual(WE_RUN);
    });

    it('accepts an empty list and a list of 31 days', () => {
      expect(
        toOpenDataPayload(WxWeRunData, { stepInfoList: [], watermark: watermark() }).stepInfoList,
      ).toEqual([]);
      const month = Array.from({ length: 31 }, (_, day) => ({
        timestamp: 1_699_920_000 - day * DAY,
        step: day * 1000,
      }));
      expect(
        toOpenDataPayload(WxWeRunData, { stepInfoList: month, watermark: watermark() }).stepInfoList,
      ).toEqual(month);
    });

    it('strips unknown fields inside step entries', () => {
      const run = toOpenDataPayload(WxWeRunData, {
        ...WE_RUN,
        stepInfoList: [{ timestamp: 1_445_866_601, step: 100, calories: 4 }],
      });
      expect(run.stepInfoList[0]).toEqual({ timestamp: 1_445_866_601, step: 100 });
      expect(run.stepInfoList[0]).not.toHaveProperty('calories');
    });

    it('names the failing entry and property, e.g. stepInfoList.0.step', () => {
      expectInvalid(
        () =>
          toOpenDataPayload(WxWeRunData, {
            ...WE_RUN,
            stepInfoList: [{ timestamp: 1_445_866_601, step: '9876543' }],
          }),
        ['stepInfoList.0.step'],
        ['9876543'],
      );
    });

    it('names several failing entries', () => {
      expectInvalid(
        () =>
          toOpenDataPayload(WxWeRunData, {
            ...WE_RUN,
            stepInfoList: [
              { timestamp: 1_445_866_601, step: 1 },
              { timestamp: 'yesterday', step: -5 },
              { timestamp: 1_445_866_601, step: 2 },
              { timestamp: 1.5, step: 3 },
            ],
          }),
        ['stepInfoList.1.timestamp', 'stepInfoList.1.step', 'stepInfoList.3.timestamp'],
        ['yesterday'],
      );
    });

    it.each([
      ['missing', undefined],
      ['a string', 'steps'],
    ])('refuses a stepInfoList that is %s', (_name, stepInfoList) => {
      const invalid = expectInvalid(
        () => toOpenDataPayload(WxWeRunData, { ...WE_RUN, stepInfoList }),
        ['stepInfoList'],
      );
      expect(invalid.message).not.toContain('steps');
    });

    it('refuses a stepInfoList that is an object shaped like an array', () => {
      const stepInfoList = { 0: { timestamp: 1, step: 1 } };
      const error = captureError(() => toOpenDataPayload(WxWeRunData, { ...WE_RUN, stepInfoList }));
      expect(error).toBeInstanceOf(WxPayloadValidationError);
      expect((error as WxPayloadValidationError).properties).toContain('stepInfoList');
    });

    // `@IsObject({ each: true })` reports on the list itself; the nested check names the index.
    it.each([
      ['a number', [5], ['stepInfoList', 'stepInfoList.0']],
      ['null', [null], ['stepInfoList', 'stepInfoList.0']],
      ['a string', [{ timestamp: 1, step: 1 }, 'day'], ['stepInfoList', 'stepInfoList.1']],
    ])('refuses a step entry that is %s, naming its index', (_name, stepInfoList, paths) => {
      expectInvalid(() => toOpenDataPayload(WxWeRunData, { ...WE_RUN, stepInfoList }), paths);
    });

    // `@ValidateNested({ each: true })` alone descends into nested arrays, so an entry that is itself
    // an array (empty, or of valid step objects) would pass as an array instead of a WxStepInfo.
    // Class-validator's `each` constraints name the list, not the index.
    it.each([
      ['an empty array', [[]]],
      ['an array of valid step objects', [[{ timestamp: 1_445_866_601, step: 100 }]]],
    ])('refuses a step entry that is %s (entries must be objects)', (_name, stepInfoList) => {
      const error = captureError(() => toOpenDataPayload(WxWeRunData, { ...WE_RUN, stepInfoList }));
      expect(error).toBeInstanceOf(WxPayloadValidationError);
      expect((error as WxPayloadValidationError).properties).toEqual(['stepInfoList']);
    });

    it('refuses more entries than a year', () => {
      const years = Array.from({ length: 367 }, () => ({ timestamp: 0, step: 0 }));
      expectInvalid(
        () => toOpenDataPayload(WxWeRunData, { ...WE_RUN, stepInfoList: years }),
        ['stepInfoList'],
      );
    });
  });

  describe('WxShareInfo', () => {
    it('builds a typed instance from a realistic payload', () => {
      const share = toOpenDataPayload(WxShareInfo, SHARE_INFO);
      expect(share).toBeInstanceOf(WxShareInfo);
      expect(share.openGId).toBe(SHARE_INFO.openGId);
      expect(share).toEqual(SHARE_INFO);
    });

    it.each([
      ['empty', ''],
      ['a number', 12345678],
      ['over 128 characters', 'G'.repeat(129)],
      ['missing', undefined],
    ])('refuses an openGId that is %s', (_name, openGId) => {
      expectInvalid(
        () => toOpenDataPayload(WxShareInfo, { ...SHARE_INFO, openGId }),
        ['openGId'],
        ['12345678', 'GGGGGGGG'],
      );
    });
  });

  describe('watermark of every DTO', () => {
    const dtos: [string, WxPayloadType<WxOpenDataPayload>, Record<string, unknown>][] = [
      ['WxUserInfo', WxUserInfo, USER_INFO],
      ['WxPhoneNumber', WxPhoneNumber, PHONE_NUMBER],
      ['WxWeRunData', WxWeRunData, WE_RUN],
      ['WxShareInfo', WxShareInfo, SHARE_INFO],
    ];

    it.each(dtos)('%s names watermark.timestamp and watermark.appid', (_name, type, valid) => {
      expectInvalid(
        () => toOpenDataPayload(type, { ...valid, watermark: { appid: 1234567, timestamp: 'later-today' } }),
        ['watermark.appid', 'watermark.timestamp'],
        ['1234567', 'later-today'],
      );
      expectInvalid(
        () => toOpenDataPayload(type, { ...valid, watermark: { appid: APP_ID, timestamp: -1 } }),
        ['watermark.timestamp'],
      );
      expectInvalid(
        () => toOpenDataPayload(type, { ...valid, watermark: { appid: APP_ID, timestamp: 1.5 } }),
        ['watermark.timestamp'],
      );
    });

    it.each(dtos)('%s refuses a missing or non-object watermark', (_name, type, valid) => {
      const { watermark: _dropped, ...withoutWatermark } = valid;
      expectInvalid(() => toOpenDataPayload(type, withoutWatermark), ['watermark']);
      expectInvalid(() => toOpenDataPayload(type, { ...valid, watermark: null }), ['watermark']);
      expectInvalid(
        () => toOpenDataPayload(type, { ...valid, watermark: 'wx-stamp' }),
        ['watermark'],
        ['wx-stamp'],
      );
    });
  });

  it('refuses a plain value that is an array, without a path spelled "undefined"', () => {
    // An array is an `object` for the signature; it must be refused at the root.
    const error = captureError(() => toOpenDataPayload(WxUserInfo, [USER_INFO]));
    expect(error).toBeInstanceOf(WxPayloadValidationError);
    const invalid = error as WxPayloadValidationError;
    expect(invalid.properties).not.toContain('undefined');
    expect(invalid.message).not.toContain('undefined');
  });

  it('the failure message lists paths, never values', () => {
    const invalid = expectInvalid(
      () => toOpenDataPayload(WxUserInfo, { ...USER_INFO, nickName: 31337, gender: 'unknown-gender' }),
      ['nickName', 'gender'],
      ['31337', 'unknown-gender'],
    );
    expect(invalid.message).toBe('decrypted payload failed validation at: nickName, gender');
  });
});

describe('a user-declared DTO extending WxOpenDataPayload', () => {
  class WxGameScore {
    @IsString()
    @MaxLength(16)
    level!: string;

    @IsInt()
    @Min(0)
    points!: number;
  }

  class WxGameRecord extends WxOpenDataPayload {
    @IsString()
    playerName!: string;

    @IsInt()
    @Min(0)
    @Max(100)
    rank!: number;

    @IsOptional()
    @IsString()
    motto?: string;

    @ValidateNested({ each: true })
    @Type(() => WxGameScore)
    scores!: WxGameScore[];
  }

  const RECORD = {
    playerName: 'Band',
    rank: 3,
    scores: [
      { level: 'forest', points: 1200 },
      { level: 'desert', points: 40 },
    ],
    watermark: watermark(),
  };

  it('builds an instance of the user class with nested instances and the watermark', () => {
    const record = toOpenDataPayload(WxGameRecord, { ...RECORD, cheat: true });
    expect(record).toBeInstanceOf(WxGameRecord);
    expect(record).toBeInstanceOf(WxOpenDataPayload);
    expect(record.watermark).toBeInstanceOf(WxWatermark);
    expect(record.scores[0]).toBeInstanceOf(WxGameScore);
    expect(record).toEqual(RECORD);
    expect(record).not.toHaveProperty('cheat');
  });

  it('validates the inherited watermark and its own fields together', () => {
    expectInvalid(
      () =>
        toOpenDataPayload(WxGameRecord, {
          ...RECORD,
          rank: 101,
          scores: [{ level: 'forest', points: -1 }],
          watermark: { appid: APP_ID },
        }),
      ['rank', 'scores.0.points', 'watermark.timestamp'],
    );
  });

  it('works on the output of decryptOpenData', () => {
    const sessionKey = createSessionKey();
    const decrypted = decryptOpenData(
      { ...encryptOpenData(RECORD, sessionKey), sessionKey },
      {
        appId: APP_ID,
        now: NOW_SECONDS * 1000,
      },
    );
    const record = toOpenDataPayload(WxGameRecord, decrypted);
    expect(record).toBeInstanceOf(WxGameRecord);
    expect(record.scores.map((score) => score.points)).toEqual([1200, 40]);
  });
});

describe('the first property of a decrypted payload (the iv-forgeable block)', () => {
  const payload = (first: string): Record<string, unknown> => ({
    [first]: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
    nickName: 'Band',
    gender: 1,
    avatarUrl: 'https://example.invalid/a.png',
    watermark: { appid: 'wx0123456789abcdef', timestamp: 1_700_000_000 },
  });

  it('refuses a payload whose first key the DTO does not declare (a renamed openId)', () => {
    const error = captureError(() => toOpenDataPayload(WxUserInfo, payload('oqenId')));
    expect(error).toBeInstanceOf(WxPayloadValidationError);
    expect((error as WxPayloadValidationError).message).not.toContain('oqenId');
  });

  it('accepts openId first even for a DTO of your own that leaves it out', () => {
    class Nick extends WxOpenDataPayload {
      @IsString()
      nickName!: string;
    }
    expect(toOpenDataPayload(Nick, payload('openId'))).toMatchObject({ nickName: 'Band' });
    expect(() => toOpenDataPayload(Nick, payload('avatar'))).toThrow(WxPayloadValidationError);
  });

  it('still drops undeclared keys that do not come first', () => {
    const info = toOpenDataPayload(WxUserInfo, { ...payload('openId'), addedByWeChatLater: 1 });
    expect(info).not.toHaveProperty('addedByWeChatLater');
  });
});
