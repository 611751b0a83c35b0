import {
  type WxApiClient,
  WxApiError,
  WxApiUnavailableError,
  sessionKeySignature,
  type WxApiOperation,
} from '../../lib/api/index.js';
import { WxOpenDataError } from '../../lib/core/index.js';
import { toOpenDataPayload, WxPhoneNumber } from '../../lib/payloads/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import { APP, FakeWeChatHarness, OTHER_APP } from './fake-wechat-harness.js';

const harness = new FakeWeChatHarness({ loginsPerMinute: 5 });
let client: WxApiClient;
let userSeq = 0;

/** A fresh openid per test, so rate limits and key rotations do not leak between tests. */
const newOpenid = (): string => `o-contract-user-${(userSeq += 1)}`;

beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => {
  client = harness.client();
  harness.fake.resetRequestCounts();
  harness.fake.clearFaults();
});

/** Asserts `error` is a WxApiError of `operation` with `errcode`, and returns it. */
function expectWxApiError(error: unknown, operation: WxApiOperation, errcode: number): WxApiError {
  expect(error).toBeInstanceOf(WxApiError);
  expect(error).toBeInstanceOf(WxOpenDataError);
  const apiError = error as WxApiError;
  expect(apiError).toMatchObject({ code: 'WX_API_ERROR', errcode, operation, keyDependent: false });
  expect(apiError.message).toContain(String(errcode));
  // The fake, like WeChat, ends errmsg with a request id; only that part of errmsg is kept.
  expect(apiError.rid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  return apiError;
}

describe('code2Session', () => {
  it('answers openid and session key, without unionid for a user who has none', async () => {
    const openid = newOpenid();
    const result = await client.code2Session(harness.issueCode({ openid }));
    expect(result).toEqual({ openid, sessionKey: harness.fake.currentSessionKey(openid) });
    expect(Buffer.from(result.sessionKey, 'base64')).toHaveLength(16);
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(1);
  });

  it('answers the unionid when the user has one', async () => {
    const openid = newOpenid();
    const result = await client.code2Session(harness.issueCode({ openid, unionid: 'u-contract-1' }));
    expect(result).toEqual({ openid, unionid: 'u-contract-1', sessionKey: expect.any(String) });
  });

  it('makes up an openid when none is given', async () => {
    const result = await client.code2Session(harness.issueCode());
    expect(result.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(harness.fake.currentSessionKey(result.openid)).toBe(result.sessionKey);
  });

  it('rotates the key on every login, to the given key when one is given', async () => {
    const openid = newOpenid();
    const first = await client.code2Session(harness.issueCode({ openid }));
    const second = await client.code2Session(harness.issueCode({ openid }));
    expect(second.sessionKey).not.toBe(first.sessionKey);
    const chosen = harness.remember(createSessionKey());
    const third = await client.code2Session(harness.issueCode({ openid, sessionKey: chosen }));
    expect(third.sessionKey).toBe(chosen);
    expect(harness.fake.currentSessionKey(openid)).toBe(chosen);
  });

  it('does not rotate the key when a code is only issued', async () => {
    const openid = newOpenid();
    const { sessionKey } = await client.code2Session(harness.issueCode({ openid }));
    harness.issueCode({ openid });
    expect(harness.fake.currentSessionKey(openid)).toBe(sessionKey);
  });

  it('40029 for an unknown code', async () => {
    const error = await harness.errorOf(client.code2Session(harness.remember('no-such-code-0123456789')));
    expectWxApiError(error, 'code2Session', 40029);
  });

  it('40029 for a code of another mini program', async () => {
    const code = harness.issueCode({ openid: newOpenid() }, OTHER_APP.appId);
    expectWxApiError(await harness.errorOf(client.code2Session(code)), 'code2Session', 40029);
  });

  it('40163 for a used code, and is not retried', async () => {
    const code = harness.issueCode({ openid: newOpenid() });
    await client.code2Session(code);
    expectWxApiError(await harness.errorOf(client.code2Session(code)), 'code2Session', 40163);
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(2);
  });

  it('40029 for a code older than 5 minutes; a code just younger still works', async () => {
    const stale = harness.issueCode({ openid: newOpenid() });
    const fresh = harness.issueCode({ openid: newOpenid() });
    harness.clock.now += 5 * 60_000 - 1;
    await expect(client.code2Session(fresh)).resolves.toBeDefined();
    harness.clock.now += 1;
    expectWxApiError(await harness.errorOf(client.code2Session(stale)), 'code2Session', 40029);
  });

  it('45011 past the per-user login limit, without using up the code', async () => {
    const openid = newOpenid();
    for (let i = 0; i < 5; i += 1) await client.code2Session(harness.issueCode({ openid }));
    const code = harness.issueCode({ openid });
    expectWxApiError(await harness.errorOf(client.code2Session(code)), 'code2Session', 45011);
    harness.clock.now += 60_000;
    await expect(client.code2Session(code)).resolves.toMatchObject({ openid });
  });

  it('40125 for a wrong secret and 40013 for an unknown appid', async () => {
    const code = harness.issueCode({ openid: newOpenid() });
    const wrongSecret = harness.client({ appSecret: harness.remember('wrong-secret-0123456789') });
    expectWxApiError(await harness.errorOf(wrongSecret.code2Session(code)), 'code2Session', 40125);
    const unknownApp = harness.client({ appId: 'wx00000000000000ff' });
    expectWxApiError(await harness.errorOf(unknownApp.code2Session(code)), 'code2Session', 40013);
  });

  it('passes through errcodes it has no special meaning for (40226 high-risk user), once', async () => {
    harness.fake.failNext('/sns/jscode2session', { errcode: 40226, errmsg: 'high risk user' });
    const code = harness.issueCode({ openid: newOpenid() });
    const error = expectWxApiError(await harness.errorOf(client.code2Session(code)), 'code2Session', 40226);
    expect(error.message).toContain('high-risk');
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(1);
  });

  it('refuses an answer whose session key is not base64 of 16 bytes', async () => {
    const code = harness.issueCode({ openid: newOpenid(), sessionKey: 'not a session key' });
    const error = await harness.errorOf(client.code2Session(code));
    expect(error).toBeInstanceOf(WxApiUnavailableError);
    expect(error).toMatchObject({ reason: 'invalid-response', code: 'WX_API_UNAVAILABLE' });
  });
});

describe('getAccessToken', () => {
  it('fetches a stable token once and serves it from the cache', async () => {
    const token = harness.remember(await client.getAccessToken());
    expect(token.length).toBeGreaterThan(20);
    await expect(client.getAccessToken()).resolves.toBe(token);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
    expect(harness.fake.forcedTokenRefreshCount()).toBe(0);
  });

  it('shares one upstream request among 100 concurrent callers', async () => {
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
  });

  it('fetches again 5 minutes before expiry, not sooner', async () => {
    // A token minted now, so that expires_in is the full 7200 s.
    harness.fake.expireAccessTokens();
    await client.getAccessToken();
    harness.clock.now += (7200 - 300) * 1000 - 1;
    await client.getAccessToken();
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
    harness.clock.now += 1;
    await client.getAccessToken();
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
  });

  it('fetches again after invalidateAccessToken()', async () => {
    await client.getAccessToken();
    client.invalidateAccessToken();
    await client.getAccessToken();
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
  });

  it('40125 for a wrong secret, to every concurrent caller, and does not cache the failure', async () => {
    const wrong = harness.client({ appSecret: harness.remember('wrong-secret-abcdefghij') });
    const errors = await Promise.all(
      Array.from({ length: 10 }, () => harness.errorOf(wrong.getAccessToken())),
    );
    for (const error of errors) expectWxApiError(error, 'getAccessToken', 40125);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
    expectWxApiError(await harness.errorOf(wrong.getAccessToken()), 'getAccessToken', 40125);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
  });

  it('40013 for an unknown appid', async () => {
    const unknownApp = harness.client({ appId: 'wx00000000000000ff' });
    expectWxApiError(await harness.errorOf(unknownApp.getAccessToken()), 'getAccessToken', 40013);
  });

  it('40164 (IP not whitelisted) surfaces as is', async () => {
    harness.fake.failNext('/cgi-bin/stable_token', { errcode: 40164, errmsg: 'invalid ip 127.0.0.1' });
    expectWxApiError(await harness.errorOf(client.getAccessToken()), 'getAccessToken', 40164);
  });

  it('a failed token fetch fails the call that needed it, with the fetch as operation', async () => {
    harness.fake.failNext('/cgi-bin/stable_token', { errcode: 40164 });
    const error = await harness.errorOf(client.checkSessionKey('o-any', createSessionKey()));
    expectWxApiError(error, 'getAccessToken', 40164);
    expect(harness.fake.requestCount('/wxa/checksession')).toBe(0);
  });
});

describe('checkSessionKey', () => {
  it('true for the current key, false (87009) for the previous one and for a made-up one', async () => {
    const openid = newOpenid();
    const first = await client.code2Session(harness.issueCode({ openid }));
    await expect(client.checkSessionKey(openid, first.sessionKey)).resolves.toBe(true);
    const second = await client.code2Session(harness.issueCode({ openid }));
    await expect(client.checkSessionKey(openid, second.sessionKey)).resolves.toBe(true);
    await expect(client.checkSessionKey(openid, first.sessionKey)).resolves.toBe(false);
    await expect(client.checkSessionKey(openid, createSessionKey())).resolves.toBe(false);
    expect(harness.fake.requestCount('/wxa/checksession')).toBe(4);
  });

  it('40003 for a user the mini program does not know', async () => {
    const error = await harness.errorOf(client.checkSessionKey('o-nobody', createSessionKey()));
    expectWxApiError(error, 'checkSessionKey', 40003);
  });

  it('signs as the spec says: the fake accepts the hex HMAC keyed by the base64 text', async () => {
    const openid = newOpenid();
    const { sessionKey } = await client.code2Session(harness.issueCode({ openid }));
    const token = harness.remember(await client.getAccessToken());
    const query = new URLSearchParams({
      access_token: token,
      openid,
      signature: sessionKeySignature(sessionKey),
      sig_method: 'hmac_sha256',
    });
    const answer = await (await fetch(`${harness.baseUrl}/wxa/checksession?${query}`)).json();
    expect(answer).toEqual({ errcode: 0, errmsg: 'ok' });
  });

  it('45011 and other errcodes throw rather than answer false', async () => {
    harness.fake.failNext('/wxa/checksession', { errcode: 45011 });
    expectWxApiError(
      await harness.errorOf(client.checkSessionKey('o-x', createSessionKey())),
      'checkSessionKey',
      45011,
    );
  });
});

describe('resetUserSessionKey', () => {
  it('returns a new key that becomes the only valid one', async () => {
    const openid = newOpenid();
    const { sessionKey: old } = await client.code2Session(harness.issueCode({ openid }));
    const renewed = harness.remember(await client.resetUserSessionKey(openid, old));
    expect(renewed).not.toBe(old);
    expect(Buffer.from(renewed, 'base64')).toHaveLength(16);
    expect(harness.fake.currentSessionKey(openid)).toBe(renewed);
    await expect(client.checkSessionKey(openid, renewed)).resolves.toBe(true);
    await expect(client.checkSessionKey(openid, old)).resolves.toBe(false);
  });

  it('87009 when the key presented is not the current one', async () => {
    const openid = newOpenid();
    const { sessionKey: old } = await client.code2Session(harness.issueCode({ openid }));
    await client.code2Session(harness.issueCode({ openid }));
    expectWxApiError(
      await harness.errorOf(client.resetUserSessionKey(openid, old)),
      'resetUserSessionKey',
      87009,
    );
  });

  it('45011 surfaces as is', async () => {
    harness.fake.failNext('/wxa/resetusersessionkey', { errcode: 45011 });
    const error = await harness.errorOf(client.resetUserSessionKey('o-x', createSessionKey()));
    expectWxApiError(error, 'resetUserSessionKey', 45011);
  });
});

describe('getPhoneNumber', () => {
  it("answers phone_info in WeChat's shape, valid for the WxPhoneNumber DTO", async () => {
    const openid = newOpenid();
    const info = await client.getPhoneNumber(harness.issuePhoneCode({ openid, phoneNumber: '13912345678' }));
    expect(info).toEqual({
      phoneNumber: '13912345678',
      purePhoneNumber: '13912345678',
      countryCode: '86',
      watermark: { appid: APP.appId, timestamp: Math.floor(harness.clock.now / 1000) },
    });
    const dto = toOpenDataPayload(WxPhoneNumber, info);
    expect(dto).toBeInstanceOf(WxPhoneNumber);
    expect(dto.countryCode).toBe('86');
  });

  it('reads a numeric countryCode as its digits (WeChat has sent the number)', async () => {
    const code = harness.issuePhoneCode({
      phoneNumber: '+1 2025550123',
      purePhoneNumber: '2025550123',
      countryCode: 1,
    });
    const info = await client.getPhoneNumber(code);
    expect(info.countryCode).toBe('1');
    expect(toOpenDataPayload(WxPhoneNumber, info).countryCode).toBe('1');
  });

  it('sends the openid when given: accepted for the owner, 40003 for another user', async () => {
    const openid = newOpenid();
    await expect(client.getPhoneNumber(harness.issuePhoneCode({ openid }), openid)).resolves.toBeDefined();
    const error = await harness.errorOf(
      client.getPhoneNumber(harness.issuePhoneCode({ openid }), 'o-someone-else'),
    );
    expectWxApiError(error, 'getPhoneNumber', 40003);
  });

  it('40029 for an unknown code, a code of another app, or an expired code', async () => {
    const otherAppCode = harness.issuePhoneCode({}, OTHER_APP.appId);
    const stale = harness.issuePhoneCode();
    expectWxApiError(
      await harness.errorOf(client.getPhoneNumber(harness.remember('nope-0123456789'))),
      'getPhoneNumber',
      40029,
    );
    expectWxApiError(await harness.errorOf(client.getPhoneNumber(otherAppCode)), 'getPhoneNumber', 40029);
    harness.clock.now += 5 * 60_000;
    expectWxApiError(await harness.errorOf(client.getPhoneNumber(stale)), 'getPhoneNumber', 40029);
  });

  it('40163 for a used code', async () => {
    const code = harness.issuePhoneCode();
    await client.getPhoneNumber(code);
    expectWxApiError(await harness.errorOf(client.getPhoneNumber(code)), 'getPhoneNumber', 40163);
  });

  it('40013 and 45011 surface as is', async () => {
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode: 40013 });
    expectWxApiError(
      await harness.errorOf(client.getPhoneNumber(harness.issuePhoneCode())),
      'getPhoneNumber',
      40013,
    );
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode: 45011 });
    expectWxApiError(
      await harness.errorOf(client.getPhoneNumber(harness.issuePhoneCode())),
      'getPhoneNumber',
      45011,
    );
  });
});

describe('access token rejected by a call', () => {
  it('after expireAccessTokens(): one refresh, one retry, success', async () => {
    const openid = newOpenid();
    const { sessionKey } = await client.code2Session(harness.issueCode({ openid }));
    const before = harness.remember(await client.getAccessToken());
    harness.fake.expireAccessTokens();
    await expect(client.checkSessionKey(openid, sessionKey)).resolves.toBe(true);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
    expect(harness.fake.requestCount('/wxa/checksession')).toBe(2);
    expect(harness.fake.forcedTokenRefreshCount()).toBeGreaterThanOrEqual(1);
    await expect(client.getAccessToken()).resolves.not.toBe(before);
  });

  it('100 concurrent calls holding the rejected token share one refresh', async () => {
    await client.getAccessToken();
    harness.fake.expireAccessTokens();
    const forcedBefore = harness.fake.forcedTokenRefreshCount();
    const infos = await Promise.all(
      Array.from({ length: 100 }, () => client.getPhoneNumber(harness.issuePhoneCode())),
    );
    expect(infos).toHaveLength(100);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
    expect(harness.fake.requestCount('/wxa/business/getuserphonenumber')).toBe(200);
    expect(harness.fake.forcedTokenRefreshCount() - forcedBefore).toBeLessThanOrEqual(1);
  });

  it('42001 (expired on the fake while the client still trusts it): refresh and retry', async () => {
    // A client with a frozen clock keeps its cached token past the fake's expiry.
    const stuck = harness.client({ now: () => 0 });
    await stuck.getAccessToken();
    harness.fake.resetRequestCounts();
    harness.clock.now += 7200 * 1000;
    await expect(stuck.getPhoneNumber(harness.issuePhoneCode())).resolves.toBeDefined();
    expect(harness.fake.requestCount('/wxa/business/getuserphonenumber')).toBe(2);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
  });

  it.each([40001, 40014, 42001])('errcode %i once: refresh and retry once', async (errcode) => {
    await client.getAccessToken();
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode });
    await expect(client.getPhoneNumber(harness.issuePhoneCode())).resolves.toBeDefined();
    expect(harness.fake.requestCount('/wxa/business/getuserphonenumber')).toBe(2);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
  });

  it('a token rejected again after the refresh: the call fails, no third try', async () => {
    await client.getAccessToken();
    harness.fake.failNext('/wxa/checksession', { errcode: 40001 }, 3);
    const error = await harness.errorOf(client.checkSessionKey('o-x', createSessionKey()));
    expectWxApiError(error, 'checkSessionKey', 40001);
    expect(harness.fake.requestCount('/wxa/checksession')).toBe(2);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(2);
  });

  it('forces a stable-token refresh at most once per 30 s, as WeChat allows', async () => {
    const fresh = harness.client();
    await fresh.getAccessToken();
    const forcedBefore = harness.fake.forcedTokenRefreshCount();
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode: 40001 });
    await fresh.getPhoneNumber(harness.issuePhoneCode());
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode: 40001 });
    await fresh.getPhoneNumber(harness.issuePhoneCode());
    expect(harness.fake.forcedTokenRefreshCount() - forcedBefore).toBe(1);
    harness.clock.now += 30_000;
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode: 40001 });
    await fresh.getPhoneNumber(harness.issuePhoneCode());
    expect(harness.fake.forcedTokenRefreshCount() - forcedBefore).toBe(2);
  });

  it('code2Session, which carries no token, does not treat 40001 as a token problem', async () => {
    harness.fake.failNext('/sns/jscode2session', { errcode: 40001 });
    const error = await harness.errorOf(client.code2Session(harness.issueCode({ openid: newOpenid() })));
    expectWxApiError(error, 'code2Session', 40001);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(0);
  });
});

afterAll(() => {
  expect(harness.capturedErrorCount()).toBeGreaterThan(30);
  expect(harness.leakedSecrets()).toEqual([]);
});
