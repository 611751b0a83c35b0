import {
  type WxApiClient,
  WxApiError,
  WxApiTimeoutError,
  WxApiUnavailableError,
  type WxFetch,
} from '../../lib/api/index.js';
import { FakeWeChatServer } from '../../lib/testing/index.js';
import { APP, FakeWeChatHarness, timed } from './fake-wechat-harness.js';

const TIMEOUT_MS = 200;
/** Slack for timers and scheduling on a loaded CI machine; far below the fake's slow delay. */
const MARGIN_MS = 250;

const harness = new FakeWeChatHarness();
let client: WxApiClient;

beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(async () => {
  await harness.fake.setMode('normal');
  harness.fake.clearFaults();
  harness.fake.resetRequestCounts();
  client = harness.client({ timeoutMs: TIMEOUT_MS });
});

describe('system busy (errcode -1)', () => {
  it('is retried, and the call succeeds when WeChat recovers', async () => {
    harness.fake.failNext('/sns/jscode2session', { errcode: -1, errmsg: 'system error' }, 2);
    // Retries, not the time budget, are under test: the harness's generous budget, so a cold
    // first call on a loaded CI machine cannot run out of the file's 200 ms.
    const patient = harness.client();
    await expect(patient.code2Session(harness.issueCode({ openid: 'o-busy-1' }))).resolves.toMatchObject({
      openid: 'o-busy-1',
    });
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(3);
  });

  it('forever: exactly maxAttempts attempts, then WxApiError -1', async () => {
    await harness.fake.setMode('busy');
    const error = await harness.errorOf(harness.client().code2Session(harness.issueCode()));
    expect(error).toBeInstanceOf(WxApiError);
    expect(error).toMatchObject({ errcode: -1, operation: 'code2Session' });
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(3);
  });

  it('honours maxAttempts', async () => {
    await harness.fake.setMode('busy');
    const once = harness.client({ maxAttempts: 1 });
    await harness.errorOf(once.getAccessToken());
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
    const five = harness.client({ maxAttempts: 5 });
    await harness.errorOf(five.getAccessToken());
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(6);
  });

  it('is retried on token-using calls too, without a token refresh', async () => {
    await client.getAccessToken();
    harness.fake.failNext('/wxa/business/getuserphonenumber', { errcode: -1 });
    await expect(client.getPhoneNumber(harness.issuePhoneCode())).resolves.toBeDefined();
    expect(harness.fake.requestCount('/wxa/business/getuserphonenumber')).toBe(2);
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
  });

  it('is not retried when the backoff pause would not fit in the time budget', async () => {
    harness.fake.failNext('/sns/jscode2session', { errcode: -1 }, 5);
    const patient = harness.client({ timeoutMs: TIMEOUT_MS, retryDelayMs: 10_000 });
    const { elapsedMs, outcome } = await timed(patient.code2Session(harness.issueCode()));
    expect(outcome.status).toBe('rejected');
    const error =
      outcome.status === 'rejected' ? await harness.errorOf(Promise.reject(outcome.reason)) : undefined;
    expect(error).toMatchObject({ errcode: -1 });
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(1);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
  });

  it('other errcodes are never retried', async () => {
    for (const errcode of [40029, 40163, 45011, 40226, 40125]) {
      harness.fake.resetRequestCounts();
      harness.fake.failNext('/sns/jscode2session', { errcode });
      await harness.errorOf(client.code2Session(harness.issueCode()));
      expect(harness.fake.requestCount('/sns/jscode2session')).toBe(1);
    }
  });
});

describe('WeChat unreachable', () => {
  it('refused connections: WxApiUnavailableError (network, ECONNREFUSED) within the budget', async () => {
    await harness.fake.setMode('refuse');
    const { elapsedMs, outcome } = await timed(harness.errorOf(client.code2Session(harness.issueCode())));
    const error = outcome.status === 'fulfilled' ? outcome.value : undefined;
    expect(error).toBeInstanceOf(WxApiUnavailableError);
    expect(error).toMatchObject({
      code: 'WX_API_UNAVAILABLE',
      reason: 'network',
      detail: 'ECONNREFUSED',
      operation: 'code2Session',
      keyDependent: false,
    });
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it('refused connections are retried: the call succeeds when the server comes back in time', async () => {
    await harness.fake.setMode('refuse');
    const patient = harness.client({ timeoutMs: 2000, retryDelayMs: 100, maxAttempts: 3 });
    const login = patient.code2Session(harness.issueCode({ openid: 'o-comeback' }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await harness.fake.setMode('normal');
    await expect(login).resolves.toMatchObject({ openid: 'o-comeback' });
  });

  it('works again after leaving refuse mode, on the same base URL', async () => {
    await harness.fake.setMode('refuse');
    await harness.errorOf(client.getAccessToken());
    await harness.fake.setMode('normal');
    await expect(client.getAccessToken()).resolves.toEqual(expect.any(String));
  });

  it('connections reset on accept: WxApiUnavailableError (network), retried up to maxAttempts', async () => {
    await harness.fake.setMode('reset');
    const error = await harness.errorOf(client.getAccessToken());
    expect(error).toBeInstanceOf(WxApiUnavailableError);
    expect(error).toMatchObject({ reason: 'network', operation: 'getAccessToken' });
  });

  it('a stopped server: WxApiUnavailableError (network)', async () => {
    const gone = new FakeWeChatServer({ apps: [APP] });
    const goneUrl = await gone.start();
    await gone.stop();
    const orphan = harness.client({ apiBaseUrl: goneUrl, timeoutMs: TIMEOUT_MS });
    const error = await harness.errorOf(orphan.code2Session(harness.remember('code-to-nowhere-1234')));
    expect(error).toMatchObject({ reason: 'network', detail: 'ECONNREFUSED' });
  });
});

describe('WeChat too slow', () => {
  it('WxApiTimeoutError after timeoutMs, not retried, not later than the margin', async () => {
    await harness.fake.setMode('slow', { delayMs: 2000 });
    const { elapsedMs, outcome } = await timed(harness.errorOf(client.code2Session(harness.issueCode())));
    const error = outcome.status === 'fulfilled' ? outcome.value : undefined;
    expect(error).toBeInstanceOf(WxApiTimeoutError);
    expect(error).toMatchObject({ code: 'WX_API_TIMEOUT', timeoutMs: TIMEOUT_MS, operation: 'code2Session' });
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(1);
  });

  it('a token-using call keeps to one budget for the token fetch and the call', async () => {
    await harness.fake.setMode('slow', { delayMs: 2000 });
    const { elapsedMs, outcome } = await timed(
      harness.errorOf(client.getPhoneNumber(harness.issuePhoneCode())),
    );
    expect(outcome.status === 'fulfilled' ? outcome.value : undefined).toBeInstanceOf(WxApiTimeoutError);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it('an answer slower than usual but within the budget is fine', async () => {
    await harness.fake.setMode('slow', { delayMs: 30 });
    await expect(client.getAccessToken()).resolves.toEqual(expect.any(String));
  });

  it('a fetch that ignores the abort signal still cannot outlive the budget', async () => {
    const hanging: WxFetch = () => new Promise<Response>(() => undefined);
    const stuck = harness.client({ fetch: hanging, timeoutMs: TIMEOUT_MS });
    const { elapsedMs, outcome } = await timed(harness.errorOf(stuck.getAccessToken()));
    expect(outcome.status === 'fulfilled' ? outcome.value : undefined).toBeInstanceOf(WxApiTimeoutError);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it('getAccessToken callers waiting on a slow shared fetch each time out on their own budget', async () => {
    await harness.fake.setMode('slow', { delayMs: 2000 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.getAccessToken()));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      if (result.status === 'rejected')
        expect(await harness.errorOf(Promise.reject(result.reason))).toBeInstanceOf(WxApiTimeoutError);
    }
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
  });
});

describe('answers that are not WeChat JSON', () => {
  it('an HTML error page (HTTP 502): WxApiUnavailableError (http-status), not retried', async () => {
    await harness.fake.setMode('html');
    const error = await harness.errorOf(client.code2Session(harness.issueCode()));
    expect(error).toBeInstanceOf(WxApiUnavailableError);
    expect(error).toMatchObject({ reason: 'http-status', detail: 'HTTP 502', code: 'WX_API_UNAVAILABLE' });
    expect(harness.fake.requestCount('/sns/jscode2session')).toBe(1);
  });

  it('invalid JSON with HTTP 200: WxApiUnavailableError (not-json), not retried', async () => {
    await harness.fake.setMode('garbage');
    const error = await harness.errorOf(client.getAccessToken());
    expect(error).toBeInstanceOf(WxApiUnavailableError);
    expect(error).toMatchObject({ reason: 'not-json', operation: 'getAccessToken' });
    expect(harness.fake.requestCount('/cgi-bin/stable_token')).toBe(1);
  });

  const answering =
    (body: string, status = 200): WxFetch =>
    async () =>
      new Response(body, { status, headers: { 'content-type': 'application/json' } });

  it.each([
    ['a JSON array', '[]', 'not-json'],
    ['JSON null', 'null', 'not-json'],
    ['an empty body', '', 'not-json'],
    ['a string errcode', '{"errcode":"40029","errmsg":"invalid code"}', 'invalid-response'],
    ['a token without expiry', '{"access_token":"tok-without-expiry"}', 'invalid-response'],
    ['a negative expiry', '{"access_token":"tok-negative-expiry","expires_in":-5}', 'invalid-response'],
    ['an empty token', '{"access_token":"","expires_in":7200}', 'invalid-response'],
  ])('%s: WxApiUnavailableError (%s)', async (_name, body, reason) => {
    const odd = harness.client({ fetch: answering(body) });
    const error = await harness.errorOf(odd.getAccessToken());
    expect(error).toBeInstanceOf(WxApiUnavailableError);
    expect(error).toMatchObject({ reason });
  });

  it('an answer over 64 KiB: WxApiUnavailableError (response-too-large)', async () => {
    const huge = harness.client({ fetch: answering(`{"pad":"${'x'.repeat(70_000)}"}`) });
    expect(await harness.errorOf(huge.getAccessToken())).toMatchObject({ reason: 'response-too-large' });
  });

  it('a redirect is not followed', async () => {
    const redirecting: WxFetch = async (_input, init) => {
      expect(init.redirect).toBe('manual');
      return new Response(null, { status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } });
    };
    const error = await harness.errorOf(harness.client({ fetch: redirecting }).getAccessToken());
    expect(error).toMatchObject({ reason: 'http-status', detail: 'HTTP 302' });
  });

  it('code2Session answers missing openid or with a bad unionid are refused', async () => {
    const key = 'AAAAAAAAAAAAAAAAAAAAAA==';
    for (const body of [`{"session_key":"${key}"}`, `{"openid":"o1","session_key":"${key}","unionid":7}`]) {
      const odd = harness.client({ fetch: answering(body) });
      expect(await harness.errorOf(odd.code2Session(harness.remember('odd-code-12345678')))).toMatchObject({
        reason: 'invalid-response',
      });
    }
  });

  it('getPhoneNumber without phone_info, and resetUserSessionKey without a key, are refused', async () => {
    const tokenThen = (body: string): WxFetch => {
      let calls = 0;
      return async () => {
        calls += 1;
        return new Response(calls === 1 ? '{"access_token":"tok-1234567890","expires_in":7200}' : body);
      };
    };
    const phoneless = harness.client({ fetch: tokenThen('{"errcode":0,"errmsg":"ok"}') });
    expect(
      await harness.errorOf(phoneless.getPhoneNumber(harness.remember('phone-code-123456'))),
    ).toMatchObject({
      reason: 'invalid-response',
      operation: 'getPhoneNumber',
    });
    const keyless = harness.client({ fetch: tokenThen('{"errcode":0,"errmsg":"ok","openid":"o1"}') });
    expect(
      await harness.errorOf(keyless.resetUserSessionKey('o1', 'AAAAAAAAAAAAAAAAAAAAAA==')),
    ).toMatchObject({
      reason: 'invalid-response',
      operation: 'resetUserSessionKey',
    });
  });
});

describe('secrets never reach an error', () => {
  it('a network error whose cause quotes the URL is reported without it', async () => {
    const leaky: WxFetch = async (input) => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error(`connect to ${input}`), { code: 'ECONNRESET' }),
      });
    };
    const error = await harness.errorOf(
      harness.client({ fetch: leaky }).code2Session(harness.remember('leaky-code-987654')),
    );
    expect(error).toMatchObject({ reason: 'network', detail: 'ECONNRESET' });
    expect((error as Error).cause).toBeUndefined();
  });

  it('an errmsg echoing a secret is not carried over', async () => {
    const echo: WxFetch = async () =>
      new Response(
        `{"errcode":40125,"errmsg":"invalid appsecret ${APP.appSecret} rid: 0a1b2c3d-00000000-11111111"}`,
      );
    const error = await harness.errorOf(harness.client({ fetch: echo }).getAccessToken());
    expect(error).toMatchObject({ errcode: 40125, rid: '0a1b2c3d-00000000-11111111' });
  });

  it('no error of this suite holds the secret, a token, a session key, a code or a signature', () => {
    expect(harness.capturedErrorCount()).toBeGreaterThan(20);
    expect(harness.secrets.size).toBeGreaterThan(10);
    expect(harness.leakedSecrets()).toEqual([]);
  });
});
