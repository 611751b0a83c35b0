import {
  checkOpenDataIdentity,
  checkWatermark,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_WATERMARK_MAX_AGE_SECONDS,
  WxIdentityMismatchError,
  WxOpenDataError,
  WxWatermarkError,
  type WxUserIdentity,
  type WxWatermarkCheck,
  type WxWatermarkErrorCode,
} from '../../lib/index.js';
import { captureError } from '../support/capture-error.js';

const OPENID = 'oGZUI0egBJY1zhBYw2KhdUfwVJJE';
const UNIONID = 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA';
const OTHER_OPENID = 'oGZUI0egBJY1zhBYw2KhdUfwVJJF';
const OTHER_UNIONID = 'ocMvos6NjeKLIBqg5Mr9QjxrP1FB';
const APP_ID = 'wx4f4bc4dec97d474b';
const NOW_SECONDS = 1_700_000_000;
const NOW_MS = NOW_SECONDS * 1000;

function expectIdentityMismatch(
  payload: Record<string, unknown>,
  identity: WxUserIdentity,
  field: 'openId' | 'unionId',
): void {
  const error = captureError(() => checkOpenDataIdentity(payload, identity));
  expect(error).toBeInstanceOf(WxIdentityMismatchError);
  expect(error).toBeInstanceOf(WxOpenDataError);
  const mismatch = error as WxIdentityMismatchError;
  expect(mismatch.field).toBe(field);
  expect(mismatch.code).toBe('IDENTITY_MISMATCH');
  expect(mismatch.keyDependent).toBe(true);
  expect(mismatch.name).toBe('WxIdentityMismatchError');
  // Neither the session's ids nor the forged ones are echoed.
  for (const id of [OPENID, UNIONID, OTHER_OPENID, OTHER_UNIONID]) {
    expect(mismatch.message).not.toContain(id);
    expect(JSON.stringify(mismatch)).not.toContain(id);
  }
}

describe('checkOpenDataIdentity', () => {
  const withUnion: WxUserIdentity = { openid: OPENID, unionid: UNIONID };
  const withoutUnion: WxUserIdentity = { openid: OPENID };

  it('accepts a payload naming the session user', () => {
    expect(() => checkOpenDataIdentity({ openId: OPENID, unionId: UNIONID }, withUnion)).not.toThrow();
    expect(() => checkOpenDataIdentity({ openId: OPENID }, withUnion)).not.toThrow();
    expect(() => checkOpenDataIdentity({ openId: OPENID }, withoutUnion)).not.toThrow();
  });

  it('returns nothing and does not touch the payload', () => {
    const payload = Object.freeze({ openId: OPENID, unionId: UNIONID, nickName: 'Band' });
    expect(checkOpenDataIdentity(payload, withUnion)).toBeUndefined();
    expect(payload).toEqual({ openId: OPENID, unionId: UNIONID, nickName: 'Band' });
  });

  it('accepts payloads without ids (anonymous user info, phone numbers, WeRun, share info)', () => {
    expect(() => checkOpenDataIdentity({}, withUnion)).not.toThrow();
    expect(() => checkOpenDataIdentity({ nickName: '微信用户', gender: 0 }, withUnion)).not.toThrow();
    expect(() => checkOpenDataIdentity({ phoneNumber: '13800138000' }, withoutUnion)).not.toThrow();
    expect(() =>
      checkOpenDataIdentity({ openGId: 'GRrHy0Q8fZnlq3FzCoTNy9lwR4Xk' }, withoutUnion),
    ).not.toThrow();
  });

  it.each([
    ['another openid', OTHER_OPENID],
    ['the openid in another case', OPENID.toUpperCase()],
    ['a prefix of the openid', OPENID.slice(0, -1)],
    ['the openid with trailing whitespace', `${OPENID} `],
    ['an empty string', ''],
    ['null', null],
    ['a number', 42],
    ['an array holding the openid', [OPENID]],
    ['an object holding the openid', { openid: OPENID }],
  ])('refuses an openId that is %s', (_name, openId) => {
    expectIdentityMismatch({ openId }, withUnion, 'openId');
    expectIdentityMismatch({ openId }, withoutUnion, 'openId');
  });

  it.each([
    ['another unionid', OTHER_UNIONID],
    ['the unionid in another case', UNIONID.toLowerCase()],
    ['an empty string', ''],
    ['null', null],
  ])('refuses a unionId that is %s when the session knows its unionid', (_name, unionId) => {
    expectIdentityMismatch({ openId: OPENID, unionId }, withUnion, 'unionId');
    expectIdentityMismatch({ unionId }, withUnion, 'unionId');
  });

  it('refuses any unionId when the session has none (it could be a renamed, partly chosen openId)', () => {
    expectIdentityMismatch({ openId: OPENID, unionId: OTHER_UNIONID }, withoutUnion, 'unionId');
    expectIdentityMismatch({ unionId: UNIONID }, withoutUnion, 'unionId');
    expect(() => checkOpenDataIdentity({ openId: OPENID }, withoutUnion)).not.toThrow();
  });

  it('reports openId first when both ids are forged', () => {
    expectIdentityMismatch({ openId: OTHER_OPENID, unionId: OTHER_UNIONID }, withUnion, 'openId');
  });

  it('compares the payload keys exactly as WeChat spells them (openId, unionId)', () => {
    // Lower-case keys are not WeChat's; they are neither compared nor trusted.
    expect(() =>
      checkOpenDataIdentity({ openid: OTHER_OPENID, unionid: OTHER_UNIONID }, withUnion),
    ).not.toThrow();
    expectIdentityMismatch({ openid: OPENID, openId: OTHER_OPENID }, withUnion, 'openId');
  });
});

function expectWatermarkError(
  watermark: unknown,
  code: WxWatermarkErrorCode,
  check?: WxWatermarkCheck,
): void {
  const error = captureError(() => checkWatermark(watermark, check));
  expect(error).toBeInstanceOf(WxWatermarkError);
  expect(error).toBeInstanceOf(WxOpenDataError);
  const failure = error as WxWatermarkError;
  expect(failure.code).toBe(code);
  expect(failure.keyDependent).toBe(true);
  expect(failure.name).toBe('WxWatermarkError');
  const text = `${failure.message} ${JSON.stringify(failure)}`;
  expect(text).not.toContain(APP_ID);
  expect(text).not.toContain(String(NOW_SECONDS).slice(0, 6));
}

describe('checkWatermark', () => {
  const mark = (timestamp = NOW_SECONDS, appid = APP_ID): { appid: string; timestamp: number } => ({
    appid,
    timestamp,
  });
  const atNow: WxWatermarkCheck = { appId: APP_ID, now: NOW_MS };

  it('has the documented defaults', () => {
    expect(DEFAULT_WATERMARK_MAX_AGE_SECONDS).toBe(300);
    expect(DEFAULT_CLOCK_TOLERANCE_SECONDS).toBe(60);
  });

  it('returns the watermark it was given', () => {
    const watermark = mark();
    expect(checkWatermark(watermark, atNow)).toBe(watermark);
    const withExtra = { ...mark(), extra: 1 };
    expect(checkWatermark(withExtra, atNow)).toBe(withExtra);
  });

  it('uses the real clock and no appid check when called without options', () => {
    const fresh = mark(Math.floor(Date.now() / 1000), 'wxany');
    expect(checkWatermark(fresh)).toBe(fresh);
    expectWatermarkError(mark(Math.floor(Date.now() / 1000) - 301), 'WATERMARK_EXPIRED');
    expectWatermarkError(mark(Math.floor(Date.now() / 1000) + 3600), 'WATERMARK_FROM_FUTURE');
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', `${APP_ID}:${NOW_SECONDS}`],
    ['a number', NOW_SECONDS],
    ['an array', [APP_ID, NOW_SECONDS]],
    ['an empty object', {}],
    ['missing appid', { timestamp: NOW_SECONDS }],
    ['missing timestamp', { appid: APP_ID }],
    ['a numeric appid', { appid: 123, timestamp: NOW_SECONDS }],
    ['a String object appid', { appid: new String(APP_ID), timestamp: NOW_SECONDS }],
    ['a string timestamp', { appid: APP_ID, timestamp: String(NOW_SECONDS) }],
    ['a fractional timestamp', { appid: APP_ID, timestamp: NOW_SECONDS - 0.5 }],
    ['a NaN timestamp', { appid: APP_ID, timestamp: Number.NaN }],
    ['an infinite timestamp', { appid: APP_ID, timestamp: Number.POSITIVE_INFINITY }],
    ['a negative timestamp', { appid: APP_ID, timestamp: -NOW_SECONDS }],
    ['a bigint timestamp', { appid: APP_ID, timestamp: BigInt(NOW_SECONDS) }],
    ['a Date timestamp', { appid: APP_ID, timestamp: new Date(NOW_MS) }],
  ])('refuses a watermark that is %s with WATERMARK_INVALID', (_name, watermark) => {
    expectWatermarkError(watermark, 'WATERMARK_INVALID', atNow);
    expectWatermarkError(watermark, 'WATERMARK_INVALID', { maxAgeSeconds: false });
  });

  it('refuses WATERMARK_INVALID before comparing the appid', () => {
    expectWatermarkError({ appid: 'wxother', timestamp: 'soon' }, 'WATERMARK_INVALID', atNow);
  });

  it('refuses another appid with WATERMARK_APPID_MISMATCH, with or without the clock checks', () => {
    expectWatermarkError(mark(NOW_SECONDS, 'wx0000000000000000'), 'WATERMARK_APPID_MISMATCH', atNow);
    expectWatermarkError(mark(NOW_SECONDS, APP_ID.toUpperCase()), 'WATERMARK_APPID_MISMATCH', atNow);
    expectWatermarkError(mark(NOW_SECONDS, ''), 'WATERMARK_APPID_MISMATCH', atNow);
    expectWatermarkError(mark(0, 'wx0000000000000000'), 'WATERMARK_APPID_MISMATCH', {
      appId: APP_ID,
      maxAgeSeconds: false,
    });
  });

  it('compares with an empty expected appId too (only undefined skips the check)', () => {
    expectWatermarkError(mark(), 'WATERMARK_APPID_MISMATCH', { appId: '', now: NOW_MS });
    expect(checkWatermark(mark(NOW_SECONDS, ''), { appId: '', now: NOW_MS }).appid).toBe('');
  });

  it('is inclusive in whole seconds with the defaults', () => {
    for (const now of [NOW_MS, NOW_MS + 1, NOW_MS + 999, new Date(NOW_MS), new Date(NOW_MS + 999)]) {
      const check = { appId: APP_ID, now };
      expect(checkWatermark(mark(NOW_SECONDS - 300), check).timestamp).toBe(NOW_SECONDS - 300);
      expect(checkWatermark(mark(NOW_SECONDS + 60), check).timestamp).toBe(NOW_SECONDS + 60);
      expect(checkWatermark(mark(NOW_SECONDS), check).timestamp).toBe(NOW_SECONDS);
      expectWatermarkError(mark(NOW_SECONDS - 301), 'WATERMARK_EXPIRED', check);
      expectWatermarkError(mark(NOW_SECONDS + 61), 'WATERMARK_FROM_FUTURE', check);
    }
  });

  it('honours custom limits on each side independently', () => {
    const check = { now: NOW_MS, maxAgeSeconds: 30, clockToleranceSeconds: 2 };
    expect(() => checkWatermark(mark(NOW_SECONDS - 30), check)).not.toThrow();
    expect(() => checkWatermark(mark(NOW_SECONDS + 2), check)).not.toThrow();
    expectWatermarkError(mark(NOW_SECONDS - 31), 'WATERMARK_EXPIRED', check);
    expectWatermarkError(mark(NOW_SECONDS + 3), 'WATERMARK_FROM_FUTURE', check);
  });

  it('accepts any age, and any future, with maxAgeSeconds false', () => {
    for (const timestamp of [0, NOW_SECONDS - 1_000_000, NOW_SECONDS + 1_000_000]) {
      expect(checkWatermark(mark(timestamp), { now: NOW_MS, maxAgeSeconds: false }).timestamp).toBe(
        timestamp,
      );
    }
  });

  // Exposes a fail-open: NaN in any comparison is false, so an invalid clock or limit lets every
  // timestamp through. A misconfiguration should fail closed (throw), not switch the check off.
  it.each([
    ['now is an invalid Date', { now: new Date('not a date') }],
    ['now is NaN', { now: Number.NaN }],
    ['maxAgeSeconds is NaN', { now: NOW_MS, maxAgeSeconds: Number.NaN }],
  ])('fails closed on a stale timestamp when %s', (_name, check) => {
    expect(() => checkWatermark(mark(0), check)).toThrow();
  });

  it('fails closed on a future timestamp when clockToleranceSeconds is NaN', () => {
    expect(() =>
      checkWatermark(mark(NOW_SECONDS + 1_000_000), { now: NOW_MS, clockToleranceSeconds: Number.NaN }),
    ).toThrow();
  });

  it('reads the clock on every call when none is given', () => {
    // A watermark right at the edge of the default window, computed from the real clock.
    const nowSeconds = Math.floor(Date.now() / 1000);
    expect(() => checkWatermark(mark(nowSeconds - 299))).not.toThrow();
    expect(() => checkWatermark(mark(nowSeconds + 59))).not.toThrow();
  });
});
