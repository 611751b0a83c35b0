import { MiniProgramClient } from '../../lib/testing/index.js';
import { ADAPTERS } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import { redisFleet, startFleet, type Fleet } from '../redis/support/fleet.js';
import { REDIS_URL, requireRedis } from '../redis/support/redis-harness.js';

/**
 * Duplicate wx.login codes (WeChat's 40163) on two Nest apps sharing one Redis: one code2Session
 * per code across the fleet, a session for every duplicate, and "log in again" only when the code
 * was used and nothing remembers by whom.
 */
describe.each(ADAPTERS)('duplicate login codes on two instances sharing Redis (%s)', (adapter) => {
  let fleet: Fleet;
  beforeAll(async () => {
    await requireRedis();
    fleet = await startFleet(adapter, redisFleet('node-redis', REDIS_URL), { apiTimeoutMs: 2000 });
  });
  afterAll(() => fleet?.close());
  beforeEach(() => fleet.wechat.resetRequestCounts());
  afterEach(() => fleet.wechat.setMode('normal'));

  const issued: string[] = [];
  const issue = (user: MiniProgramClient): string => {
    const code = user.login();
    issued.push(code);
    return code;
  };
  const loginOn = (instance: 'a' | 'b', code: string) =>
    fleet[instance].http().post('/auth/login').send({ code });

  it('the same code on A and B at once: one code2Session call, both get a working session', async () => {
    const user = new MiniProgramClient(fleet.wechat, { appId: APP_ID });
    const code = issue(user);
    // A slow WeChat keeps the first call in flight while the duplicate arrives.
    await fleet.wechat.setMode('slow', { delayMs: 200 });
    const [onA, onB] = await Promise.all([loginOn('a', code), loginOn('b', code)]);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    expect(fleet.wechat.requestCount('/sns/jscode2session')).toBe(1);
    expect(onA.body.openid).toBe(user.openid);
    expect(onB.body.openid).toBe(user.openid);
    expect(onA.body.token).not.toBe(onB.body.token);
    await fleet.wechat.setMode('normal');
    // Both sessions decrypt data under the key that one call installed, on either instance.
    await fleet.b.post('/me/profile', onA.body.token, user.getUserInfo()).expect(200);
    await fleet.a.post('/me/profile', onB.body.token, user.getUserInfo()).expect(200);
  });

  it('a retry after the first answer (lost to a client timeout) gets its session, not 40163', async () => {
    const user = new MiniProgramClient(fleet.wechat, { appId: APP_ID });
    const code = issue(user);
    await loginOn('a', code).expect(200);
    const retry = await loginOn('b', code).expect(200);
    expect(retry.body.openid).toBe(user.openid);
    expect(fleet.wechat.requestCount('/sns/jscode2session')).toBe(1);
    await fleet.a.http().get('/me').set('Authorization', `Bearer ${retry.body.token}`).expect(200);
  });

  it('a client that gave up mid-login still finds its session on retry', async () => {
    const user = new MiniProgramClient(fleet.wechat, { appId: APP_ID });
    const code = issue(user);
    await fleet.wechat.setMode('slow', { delayMs: 300 });
    const abandoned = loginOn('a', code).timeout(50);
    await expect(abandoned).rejects.toThrow(/Timeout/);
    // The server went on and redeemed the code; a retry on B joins or recalls that redemption.
    const retry = await loginOn('b', code).expect(200);
    expect(retry.body.openid).toBe(user.openid);
    expect(fleet.wechat.requestCount('/sns/jscode2session')).toBe(1);
  });

  it('40163 with nothing remembered (the code was redeemed elsewhere) → 401 "call wx.login again", one call', async () => {
    const user = new MiniProgramClient(fleet.wechat, { appId: APP_ID });
    const code = issue(user);
    // Redeemed behind the library's back: nothing in the store remembers it.
    const direct = await fetch(
      `${fleet.wechat.baseUrl}/sns/jscode2session?${new URLSearchParams({
        appid: APP_ID,
        secret: 'fleet-suite-app-secret',
        js_code: code,
        grant_type: 'authorization_code',
      }).toString()}`,
    );
    expect((await direct.json()) as object).toHaveProperty('openid');
    fleet.wechat.resetRequestCounts();
    const res = await loginOn('a', code).expect(401);
    expect(res.body).toMatchObject({
      code: 'WX_CODE_REJECTED',
      message: expect.stringContaining('wx.login again'),
    });
    expect(fleet.wechat.requestCount('/sns/jscode2session')).toBe(1);
    expect(res.text).not.toContain(code);
  });

  it('WeChat failing the first attempt lets the retry try again: an outage is not remembered', async () => {
    const user = new MiniProgramClient(fleet.wechat, { appId: APP_ID });
    const code = issue(user);
    await fleet.wechat.setMode('html');
    await loginOn('a', code).expect(502);
    await fleet.wechat.setMode('normal');
    const retry = await loginOn('b', code).expect(200);
    expect(retry.body.openid).toBe(user.openid);
  });

  it('no login code appears in any log line of either instance', () => {
    const lines = [...fleet.a.logger.lines, ...fleet.b.logger.lines];
    expect(lines.length).toBeGreaterThan(0);
    expect(issued.length).toBeGreaterThan(4);
    expect(lines.filter((line) => issued.some((code) => line.includes(code)))).toEqual([]);
  });
});
