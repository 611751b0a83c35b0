import { jest } from '@jest/globals';
import {
  CacheManagerWxSessionStore,
  RedisWxSessionStore,
  WX_KEY_BUSY_BODY,
  WX_OPEN_DATA_REJECTED_BODY,
} from '../../lib/index.js';
import { MiniProgramClient } from '../../lib/testing/index.js';
import { ADAPTERS, type AdapterName } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import {
  APP_SECRET,
  cacheManagerFleet,
  redisFleet,
  startFleet,
  type Fleet,
  type FleetBackend,
} from './support/fleet.js';
import { REDIS_URL, requireRedis } from './support/redis-harness.js';

/**
 * Several instances, one truth: two separate Nest apps, each with its own Redis connection, on
 * one Redis. What one instance does to a session, every other sees at once.
 */
/**
 * Each adapter on node-redis, and ioredis (connections handed over) on one adapter: what the
 * fleet shares is the store's, the same on both clients.
 */
const CASES: Array<[AdapterName, string, FleetBackend]> = [
  ...ADAPTERS.map((adapter): [AdapterName, string, FleetBackend] => [
    adapter,
    'node-redis',
    redisFleet('node-redis', REDIS_URL),
  ]),
  ['fastify', 'ioredis', redisFleet('ioredis', REDIS_URL)],
  ['express', 'cache-manager on KeyvRedis', cacheManagerFleet(REDIS_URL)],
];

describe.each(CASES)('a fleet of two instances on one Redis (%s, %s)', (adapter, _client, backend) => {
  let fleet: Fleet;

  beforeAll(async () => {
    await requireRedis();
    fleet = await startFleet(adapter, backend);
  });

  afterAll(async () => {
    await fleet?.close();
  });

  const user = (): MiniProgramClient => new MiniProgramClient(fleet.wechat, { appId: APP_ID });

  it('uses a Redis store on both instances, through separate connections', () => {
    for (const store of [fleet.a.store, fleet.b.store]) {
      if (store instanceof CacheManagerWxSessionStore) expect(store.mode).toBe('redis');
      else expect(store).toBeInstanceOf(RedisWxSessionStore);
    }
    expect(fleet.a.store).not.toBe(fleet.b.store);
  });

  it('a login on A is verified on B', async () => {
    const alice = user();
    const token = await fleet.a.login(alice.login());
    const me = await fleet.b.http().get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(me.body).toEqual({ openid: alice.openid, appId: APP_ID });
    const profile = await fleet.b.post('/me/profile', token, alice.getUserInfo()).expect(200);
    expect(profile.body.openId).toBe(alice.openid);
  });

  it('a logout on B is rejected on A', async () => {
    const bob = user();
    const token = await fleet.a.login(bob.login());
    await fleet.a.post('/me/profile', token, bob.getUserInfo()).expect(200);
    await fleet.b.post('/auth/logout', token, {}).expect(204);
    const res = await fleet.a.post('/me/profile', token, bob.getUserInfo()).expect(401);
    expect(res.body.code).toBe('WX_SESSION_REQUIRED');
  });

  it('a key rotation on A is seen by B, with the old key in its grace period', async () => {
    const carol = user();
    const first = await fleet.a.login(carol.login());
    const fetchedBefore = carol.getUserInfo();
    // A second wx.login rotates the key at WeChat; instance A stores the new one.
    const second = await fleet.a.login(carol.login());
    expect(second).not.toBe(first);
    // B decrypts data under the new key with the first session, and the old key's data too.
    await fleet.b.post('/me/profile', first, carol.getUserInfo()).expect(200);
    await fleet.b.post('/me/profile', second, fetchedBefore).expect(200);
  });

  it("a later login on an instance whose clock runs 2 s behind still installs the user's newer key", async () => {
    const heidi = user();
    const first = await fleet.b.login(heidi.login());
    const realNow = Date.now;
    // Instance A's clock is 2 s behind B's: its key versions must still come after B's.
    const skewed = jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 2_000);
    let second: string;
    try {
      second = await fleet.a.login(heidi.login());
    } finally {
      skewed.mockRestore();
    }
    // Only WeChat's newest key decrypts what the mini program fetches now.
    await fleet.b.post('/me/profile', first, heidi.getUserInfo()).expect(200);
    await fleet.a.post('/me/profile', second, heidi.getUserInfo()).expect(200);
  });

  it('a payload submitted 100 times in parallel to A and B is accepted exactly once', async () => {
    const dave = user();
    const token = await fleet.a.login(dave.login());
    const payload = dave.getUserInfo();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 === 0 ? fleet.a : fleet.b).post('/me/profile', token, payload),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    // The rest are replays (the uniform 401), or found the key's attempts all in flight: a 429
    // that asks to retry and evaluates nothing (the key-attempt budget, maxKeyFailures at a time).
    expect(statuses.filter((status) => status === 401 || status === 429)).toHaveLength(99);
    const rejections = new Set(answers.filter((res) => res.status === 401).map((res) => res.text));
    // The uniform body of every key-dependent failure: a replay is indistinguishable from one.
    expect([...rejections]).toEqual([JSON.stringify(WX_OPEN_DATA_REJECTED_BODY)]);
    for (const busy of answers.filter((res) => res.status === 429))
      expect(busy.body).toEqual(WX_KEY_BUSY_BODY);
    // Replays say nothing about the key: the session lives on, on both instances.
    await fleet.a.post('/me/profile', token, dave.getUserInfo()).expect(200);
    await fleet.b.post('/me/profile', token, dave.getUserInfo()).expect(200);
  });

  it('a replay across instances is rejected with the uniform 401', async () => {
    const erin = user();
    const token = await fleet.b.login(erin.login());
    const payload = erin.getUserInfo();
    await fleet.a.post('/me/profile', token, payload).expect(200);
    const replay = await fleet.b.post('/me/profile', token, payload).expect(401);
    expect(replay.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
    expect(fleet.b.logger.containing('PAYLOAD_REPLAYED').length).toBeGreaterThan(0);
  });

  it('five key-dependent failures spread over A and B revoke the session on both', async () => {
    const frank = user();
    const token = await fleet.a.login(frank.login());
    const forged = { ...frank.getUserInfo(), signature: '0'.repeat(40) };
    for (let failure = 1; failure <= 5; failure += 1) {
      const res = await (failure % 2 ? fleet.a : fleet.b).post('/me/profile', token, forged).expect(401);
      expect(res.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
    }
    for (const instance of [fleet.a, fleet.b]) {
      const res = await instance.post('/me/profile', token, frank.getUserInfo()).expect(401);
      expect(res.body.code).toBe('WX_SESSION_REQUIRED');
    }
    expect(
      fleet.a.logger.containing('is spent (5 key-dependent failures)').length +
        fleet.b.logger.containing('is spent (5 key-dependent failures)').length,
    ).toBe(1);
    // The user logs in again and carries on.
    const again = await fleet.b.login(frank.login());
    await fleet.a.post('/me/profile', again, frank.getUserInfo()).expect(200);
  });

  it('no session key, token, app secret or access token reaches a log line', async () => {
    const accessToken = (await fleet.a.store.readAccessToken(APP_ID))?.accessToken;
    const lines = [...fleet.a.logger.lines, ...fleet.b.logger.lines];
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.filter((line) => line.includes(APP_SECRET))).toEqual([]);
    if (accessToken !== undefined) expect(lines.filter((line) => line.includes(accessToken))).toEqual([]);
    expect(lines.filter((line) => /[A-Za-z0-9_-]{43}/.test(line) && line.includes('Bearer'))).toEqual([]);
  });
});

describe.each(CASES)("the fleet's access token (%s, %s)", (adapter, _client, backend) => {
  let fleet: Fleet;

  beforeAll(async () => {
    await requireRedis();
    fleet = await startFleet(adapter, backend);
  });

  afterAll(async () => {
    await fleet?.close();
  });

  it('one token fetch serves the whole fleet, and one forced refresh replaces a rejected token', async () => {
    const grace = new MiniProgramClient(fleet.wechat, { appId: APP_ID });
    const token = await fleet.a.login(grace.login());
    fleet.wechat.resetRequestCounts();

    // 40 phone-number exchanges at once, half on each instance: each needs the access token.
    const exchanges = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? fleet.a : fleet.b).post('/me/phone-code', token, {
          code: grace.getPhoneNumberCode(`139000000${String(i).padStart(2, '0')}`),
        }),
      ),
    );
    expect(exchanges.map((res) => res.status)).toEqual(Array(40).fill(200));
    expect(fleet.wechat.requestCount('/cgi-bin/stable_token')).toBe(1);
    const shared = await fleet.b.store.readAccessToken(APP_ID);
    expect(shared?.accessToken).toEqual(expect.any(String));

    // WeChat invalidates the token: both instances hit 40001 and refresh once, for the fleet.
    fleet.wechat.expireAccessTokens();
    fleet.wechat.resetRequestCounts();
    const forcedBefore = fleet.wechat.forcedTokenRefreshCount();
    const afterRejection = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? fleet.a : fleet.b).post('/me/phone-code', token, {
          code: grace.getPhoneNumberCode(`137000000${String(i).padStart(2, '0')}`),
        }),
      ),
    );
    expect(afterRejection.map((res) => res.status)).toEqual(Array(20).fill(200));
    expect(fleet.wechat.requestCount('/cgi-bin/stable_token')).toBe(1);
    expect(fleet.wechat.forcedTokenRefreshCount() - forcedBefore).toBe(1);
    const replaced = await fleet.a.store.readAccessToken(APP_ID);
    expect(replaced?.accessToken).not.toBe(shared?.accessToken);
    expect(replaced?.forcedAt).toEqual(expect.any(Number));
  });
});
