import { createHmac } from 'node:crypto';
import { FakeWeChatServer } from '../../lib/testing/index.js';
import { APP, OTHER_APP, type TestClock } from './fake-wechat-harness.js';

const clock: TestClock = { now: Date.UTC(2024, 5, 1) };
const fake = new FakeWeChatServer({ apps: [APP, OTHER_APP], now: () => clock.now });
let baseUrl: string;

beforeAll(async () => {
  baseUrl = await fake.start();
});
afterAll(() => fake.stop());
beforeEach(() => fake.setMode('normal'));

type Json = Record<string, unknown>;

async function getJson(path: string, query: Record<string, string>): Promise<Json> {
  const response = await fetch(`${baseUrl}${path}?${new URLSearchParams(query)}`);
  return (await response.json()) as Json;
}

async function postJson(
  path: string,
  query: Record<string, string>,
  body: string,
  type = 'application/json',
): Promise<Json> {
  const response = await fetch(`${baseUrl}${path}?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  });
  return (await response.json()) as Json;
}

const stableToken = (extra: Json = {}): Promise<Json> =>
  postJson(
    '/cgi-bin/stable_token',
    {},
    JSON.stringify({ grant_type: 'client_credential', appid: APP.appId, secret: APP.appSecret, ...extra }),
  );

const plainToken = (secret = APP.appSecret): Promise<Json> =>
  getJson('/cgi-bin/token', { grant_type: 'client_credential', appid: APP.appId, secret });

const signature = (sessionKey: string): string =>
  createHmac('sha256', Buffer.from(sessionKey, 'utf8')).update('').digest('hex');

describe('FakeWeChatServer lifecycle', () => {
  it('listens on a random 127.0.0.1 port', () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fake.baseUrl).toBe(baseUrl);
  });

  it('refuses a second start, and stop() is idempotent', async () => {
    await expect(fake.start()).rejects.toThrow('already started');
    const other = new FakeWeChatServer({ apps: [APP] });
    expect(() => other.baseUrl).toThrow('not started');
    await other.start();
    await other.stop();
    await other.stop();
  });

  it('needs at least one app, and a helper naming an unknown app throws', () => {
    expect(() => new FakeWeChatServer({ apps: [] })).toThrow('at least one app');
    expect(() => fake.issueCode({}, 'wx-unknown')).toThrow('unknown appId');
  });

  it('stops promptly while a slow answer is pending', async () => {
    const slow = new FakeWeChatServer({ apps: [APP] });
    const url = await slow.start();
    await slow.setMode('slow', { delayMs: 60_000 });
    const pending = fetch(`${url}/cgi-bin/token`).catch(() => 'dropped');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    await slow.stop();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(pending).resolves.toBe('dropped');
  });

  it('counts requests per path, faults and unknown paths included', async () => {
    fake.resetRequestCounts();
    await plainToken();
    await fake.setMode('busy');
    await plainToken();
    await fake.setMode('normal');
    expect(await getJson('/no/such/api', {})).toMatchObject({ errcode: 40066 });
    expect(fake.requestCount('/cgi-bin/token')).toBe(2);
    expect(fake.requestCount('/no/such/api')).toBe(1);
    fake.resetRequestCounts();
    expect(fake.requestCount('/cgi-bin/token')).toBe(0);
  });
});

describe('/cgi-bin/token', () => {
  it('mints a new token on every call; the previous one works 5 more minutes, then 42001', async () => {
    const first = await plainToken();
    expect(first).toEqual({ access_token: expect.any(String), expires_in: 7200 });
    const second = await plainToken();
    expect(second['access_token']).not.toBe(first['access_token']);
    fake.issuePhoneCode();
    const check = (token: unknown): Promise<Json> =>
      getJson('/wxa/checksession', {
        access_token: String(token),
        openid: 'o-none',
        signature: 'x',
        sig_method: 'hmac_sha256',
      });
    // 40003 (unknown openid) proves the token itself passed.
    expect(await check(first['access_token'])).toMatchObject({ errcode: 40003 });
    clock.now += 5 * 60_000;
    expect(await check(first['access_token'])).toMatchObject({ errcode: 42001 });
    expect(await check(second['access_token'])).toMatchObject({ errcode: 40003 });
  });

  it('40125 for a bad secret, 40013 for an unknown appid, 40002 for a bad grant_type', async () => {
    expect(await plainToken('wrong')).toMatchObject({ errcode: 40125 });
    expect(
      await getJson('/cgi-bin/token', { grant_type: 'client_credential', appid: 'wx-x', secret: 's' }),
    ).toMatchObject({
      errcode: 40013,
    });
    expect(
      await getJson('/cgi-bin/token', { grant_type: 'password', appid: APP.appId, secret: APP.appSecret }),
    ).toMatchObject({
      errcode: 40002,
    });
  });
});

describe('/cgi-bin/stable_token', () => {
  it('answers the same token while it is valid, with the remaining lifetime', async () => {
    fake.expireAccessTokens();
    const first = await stableToken();
    expect(first['expires_in']).toBe(7200);
    clock.now += 100_000;
    const second = await stableToken({ force_refresh: false });
    expect(second).toEqual({ access_token: first['access_token'], expires_in: 7100 });
  });

  it('is independent of /cgi-bin/token', async () => {
    const stable = await stableToken();
    await plainToken();
    expect((await stableToken())['access_token']).toBe(stable['access_token']);
  });

  it('force_refresh mints a new token and counts it', async () => {
    const before = fake.forcedTokenRefreshCount();
    const old = await stableToken();
    const forced = await stableToken({ force_refresh: true });
    expect(forced['access_token']).not.toBe(old['access_token']);
    expect(fake.forcedTokenRefreshCount()).toBe(before + 1);
  });

  it('a new token after expireAccessTokens(); the old one then answers 40001', async () => {
    const old = await stableToken();
    fake.expireAccessTokens();
    const renewed = await stableToken();
    expect(renewed['access_token']).not.toBe(old['access_token']);
    const answer = await postJson(
      '/wxa/business/getuserphonenumber',
      { access_token: String(old['access_token']) },
      JSON.stringify({ code: fake.issuePhoneCode() }),
    );
    expect(answer).toMatchObject({ errcode: 40001 });
  });

  it('47001 for a form body, 43002 for GET, 40125 for a bad secret', async () => {
    const form = `grant_type=client_credential&appid=${APP.appId}&secret=${APP.appSecret}`;
    expect(
      await postJson('/cgi-bin/stable_token', {}, form, 'application/x-www-form-urlencoded'),
    ).toMatchObject({
      errcode: 47001,
    });
    expect(await getJson('/cgi-bin/stable_token', {})).toMatchObject({ errcode: 43002 });
    expect(await stableToken({ secret: 'wrong' })).toMatchObject({ errcode: 40125 });
  });
});

describe('/wxa/checksession and /wxa/resetusersessionkey', () => {
  let token: string;
  let sessionKey: string;
  const openid = 'o-fake-spec-user';

  beforeEach(async () => {
    token = String((await stableToken())['access_token']);
    const login = await getJson('/sns/jscode2session', {
      appid: APP.appId,
      secret: APP.appSecret,
      js_code: fake.issueCode({ openid }),
      grant_type: 'authorization_code',
    });
    sessionKey = String(login['session_key']);
  });

  it('87008 for another sig_method, 87009 for a bad signature, 41001 without a token', async () => {
    const query = { access_token: token, openid, signature: signature(sessionKey) };
    expect(await getJson('/wxa/checksession', { ...query, sig_method: 'hmac_sha256' })).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect(await getJson('/wxa/checksession', { ...query, sig_method: 'md5' })).toMatchObject({
      errcode: 87008,
    });
    expect(await getJson('/wxa/resetusersessionkey', { ...query, sig_method: 'sha256' })).toMatchObject({
      errcode: 87008,
    });
    expect(
      await getJson('/wxa/checksession', {
        ...query,
        signature: signature(`${sessionKey}x`),
        sig_method: 'hmac_sha256',
      }),
    ).toMatchObject({ errcode: 87009 });
    expect(
      await getJson('/wxa/checksession', { openid, signature: 'x', sig_method: 'hmac_sha256' }),
    ).toMatchObject({
      errcode: 41001,
    });
  });

  it("a user of one app is unknown to another app's token (40003)", async () => {
    const otherToken = await postJson(
      '/cgi-bin/stable_token',
      {},
      JSON.stringify({
        grant_type: 'client_credential',
        appid: OTHER_APP.appId,
        secret: OTHER_APP.appSecret,
      }),
    );
    const answer = await getJson('/wxa/checksession', {
      access_token: String(otherToken['access_token']),
      openid,
      signature: signature(sessionKey),
      sig_method: 'hmac_sha256',
    });
    expect(answer).toMatchObject({ errcode: 40003 });
  });

  it('reset answers the new key in WeChat shape', async () => {
    const answer = await getJson('/wxa/resetusersessionkey', {
      access_token: token,
      openid,
      signature: signature(sessionKey),
      sig_method: 'hmac_sha256',
    });
    expect(answer).toEqual({ errcode: 0, errmsg: 'ok', openid, session_key: fake.currentSessionKey(openid) });
    expect(answer['session_key']).not.toBe(sessionKey);
  });
});

describe('/wxa/business/getuserphonenumber', () => {
  it('47001 for a form body, 43002 for GET, 41001 without a token', async () => {
    const token = String((await stableToken())['access_token']);
    const code = fake.issuePhoneCode();
    const form = await postJson(
      '/wxa/business/getuserphonenumber',
      { access_token: token },
      `code=${code}`,
      'application/x-www-form-urlencoded',
    );
    expect(form).toMatchObject({ errcode: 47001 });
    expect(await getJson('/wxa/business/getuserphonenumber', { access_token: token })).toMatchObject({
      errcode: 43002,
    });
    expect(await postJson('/wxa/business/getuserphonenumber', {}, JSON.stringify({ code }))).toMatchObject({
      errcode: 41001,
    });
    // The code survived the refused requests.
    const ok = await postJson(
      '/wxa/business/getuserphonenumber',
      { access_token: token },
      JSON.stringify({ code }),
    );
    expect(ok).toMatchObject({ errcode: 0, errmsg: 'ok', phone_info: { purePhoneNumber: '13800138000' } });
  });
});

describe('/sns/jscode2session', () => {
  it('41008 without a code, 40002 for another grant_type', async () => {
    const query = { appid: APP.appId, secret: APP.appSecret };
    expect(
      await getJson('/sns/jscode2session', { ...query, grant_type: 'authorization_code' }),
    ).toMatchObject({
      errcode: 41008,
    });
    expect(
      await getJson('/sns/jscode2session', {
        ...query,
        js_code: fake.issueCode(),
        grant_type: 'client_credential',
      }),
    ).toMatchObject({ errcode: 40002 });
  });

  it('keeps users apart per app: the same openid in two apps has two keys', async () => {
    const login = (appId: string, secret: string, code: string): Promise<Json> =>
      getJson('/sns/jscode2session', {
        appid: appId,
        secret,
        js_code: code,
        grant_type: 'authorization_code',
      });
    const a = await login(APP.appId, APP.appSecret, fake.issueCode({ openid: 'o-shared' }));
    const b = await login(
      OTHER_APP.appId,
      OTHER_APP.appSecret,
      fake.issueCode({ openid: 'o-shared' }, OTHER_APP.appId),
    );
    expect(a['session_key']).not.toBe(b['session_key']);
    expect(fake.currentSessionKey('o-shared', OTHER_APP.appId)).toBe(b['session_key']);
    expect(fake.findUser('o-shared')).toEqual({
      appId: APP.appId,
      openid: 'o-shared',
      sessionKey: a['session_key'],
    });
  });
});

describe('fault injection', () => {
  it('failNext answers queued errors in order, then behaves again', async () => {
    fake.failNext('/cgi-bin/token', { errcode: 45011 }, 2);
    fake.failNext('/cgi-bin/token', { errcode: -1, errmsg: 'system error' });
    expect(await plainToken()).toMatchObject({ errcode: 45011 });
    expect(await plainToken()).toMatchObject({ errcode: 45011 });
    expect(await plainToken()).toMatchObject({
      errcode: -1,
      errmsg: expect.stringMatching(/^system error rid: /),
    });
    expect(await plainToken()).toMatchObject({ access_token: expect.any(String) });
  });

  it('html mode answers a 502 HTML page; garbage mode a 200 that is not JSON', async () => {
    await fake.setMode('html');
    const html = await fetch(`${baseUrl}/cgi-bin/token`);
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toBe('text/html');
    expect(await html.text()).toContain('502 Bad Gateway');
    await fake.setMode('garbage');
    const garbage = await fetch(`${baseUrl}/cgi-bin/token`);
    expect(garbage.status).toBe(200);
    await expect(garbage.json()).rejects.toThrow();
  });

  it('refuse mode refuses connections until normal mode, on the same port', async () => {
    await fake.setMode('refuse');
    const refused: unknown = await fetch(`${baseUrl}/cgi-bin/token`).catch((error: unknown) => error);
    expect((refused as { cause?: { code?: unknown } }).cause?.code).toBe('ECONNREFUSED');
    await fake.setMode('normal');
    expect((await fetch(`${baseUrl}/cgi-bin/token`)).status).toBe(200);
  });

  it('slow mode delays the answer by delayMs', async () => {
    await fake.setMode('slow', { delayMs: 150 });
    const started = performance.now();
    await plainToken();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});
