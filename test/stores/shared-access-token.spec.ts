import { SharedAccessTokenCache, type WxFetchedAccessToken } from '../../lib/api/access-token-cache.js';
import {
  MemoryWxSessionStore,
  RedisWxSessionStore,
  WxApiClient,
  WxApiTimeoutError,
  WxSessionStoreUnavailableError,
  type WxAccessTokenStore,
  type WxSessionStore,
} from '../../lib/index.js';
import { FakeWeChatServer } from '../../lib/testing/index.js';
import { dropNamespace, REDIS_URL, requireRedis, testNamespace } from '../redis/support/redis-harness.js';

const APP_ID = 'wx0123456789abcdef';
const APP_SECRET = 'shared-token-secret';

/** A WeChat token endpoint the test answers by hand, counting requests and forced ones. */
function tokenSource(): {
  fetchToken: (force: boolean) => Promise<WxFetchedAccessToken>;
  calls: boolean[];
  answer: (accessToken: string, expiresInSeconds?: number) => void;
} {
  const pending: Array<(token: WxFetchedAccessToken) => void> = [];
  const calls: boolean[] = [];
  return {
    calls,
    fetchToken: (force) => {
      calls.push(force);
      return new Promise((resolve) => pending.push(resolve));
    },
    answer: (accessToken, expiresInSeconds = 7200) => pending.shift()?.({ accessToken, expiresInSeconds }),
  };
}

/** Lets pending promise chains (store reads, lock takes) run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

function instance(
  store: WxAccessTokenStore,
  source: ReturnType<typeof tokenSource>,
  overrides: { lockTtlMs?: number; waitBudgetMs?: number; now?: () => number } = {},
): SharedAccessTokenCache {
  return new SharedAccessTokenCache({
    appId: APP_ID,
    store,
    fetchToken: source.fetchToken,
    now: overrides.now ?? Date.now,
    lockTtlMs: overrides.lockTtlMs ?? 2_000,
    waitBudgetMs: overrides.waitBudgetMs ?? 1_000,
    pollMs: 5,
  });
}

describe('SharedAccessTokenCache: one token and one refresh for the fleet', () => {
  it('100 callers on each of two instances: one fetch, one token', async () => {
    const store = new MemoryWxSessionStore();
    const source = tokenSource();
    const [a, b] = [instance(store, source), instance(store, source)];
    const waiting = Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).get()));
    await settle();
    source.answer('T1');
    expect(new Set(await waiting)).toEqual(new Set(['T1']));
    expect(source.calls).toEqual([false]);
    // A third instance, started later, takes the fleet's token without asking WeChat.
    await expect(instance(store, source).get()).resolves.toBe('T1');
    expect(source.calls).toHaveLength(1);
  });

  it('a rejected token is replaced by one forced refresh for the fleet, then unforced within 30 s', async () => {
    const store = new MemoryWxSessionStore();
    const source = tokenSource();
    const [a, b] = [instance(store, source), instance(store, source)];
    const first = a.get();
    await settle();
    source.answer('T1');
    await first;
    await expect(b.get()).resolves.toBe('T1');

    const replacements = Promise.all([a.replace('T1'), b.replace('T1'), a.replace('T1'), b.replace('T1')]);
    await settle();
    source.answer('T2');
    expect(new Set(await replacements)).toEqual(new Set(['T2']));
    expect(source.calls).toEqual([false, true]);
    await expect(store.readAccessToken(APP_ID)).resolves.toEqual(
      expect.objectContaining({ accessToken: 'T2', forcedAt: expect.any(Number) }),
    );

    // WeChat rejects T2 too, a moment later: the fleet waits out the 30 s between forced refreshes.
    const again = b.replace('T2');
    await settle();
    source.answer('T3');
    await expect(again).resolves.toBe('T3');
    expect(source.calls).toEqual([false, true, false]);
  });

  it('a caller with an old rejected token gets the fleet’s newer one without a request', async () => {
    const store = new MemoryWxSessionStore();
    const source = tokenSource();
    const a = instance(store, source);
    const first = a.get();
    await settle();
    source.answer('T1');
    await first;
    await store.writeAccessToken(APP_ID, {
      accessToken: 'T2',
      expiresAt: Date.now() + 7_200_000,
      refreshAt: Date.now() + 6_900_000,
    });
    await expect(a.replace('T1')).resolves.toBe('T2');
    expect(source.calls).toHaveLength(1);
  });

  it('refreshes before expiry: a token past its refresh time is fetched again (unforced), once', async () => {
    let now = 1_000_000;
    const store = new MemoryWxSessionStore({ now: () => now });
    const source = tokenSource();
    const [a, b] = [instance(store, source, { now: () => now }), instance(store, source, { now: () => now })];
    const first = a.get();
    await settle();
    source.answer('T1', 7200);
    await first;
    now += 6_900_000; // the refresh time: 5 minutes before expiry
    const refreshed = Promise.all([a.get(), b.get()]);
    await settle();
    source.answer('T1b', 7200);
    await expect(refreshed).resolves.toEqual(['T1b', 'T1b']);
    expect(source.calls).toEqual([false, false]);
  });

  it('waits for the lock holder, and takes over when it dies without publishing', async () => {
    const store = new MemoryWxSessionStore();
    const source = tokenSource();
    // Another instance holds the lock and dies: the lock lapses after its TTL.
    const dead = await store.lockAccessTokenRefresh(APP_ID, 0.1);
    expect(dead).toBeDefined();
    const a = instance(store, source, { lockTtlMs: 2_000, waitBudgetMs: 2_000 });
    const waiting = a.get();
    await settle();
    expect(source.calls).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(source.calls).toHaveLength(1);
    source.answer('T-after-takeover');
    await expect(waiting).resolves.toBe('T-after-takeover');
  });

  it('gives up with a timeout when no token appears within its budget', async () => {
    const store = new MemoryWxSessionStore();
    const source = tokenSource();
    await store.lockAccessTokenRefresh(APP_ID, 60);
    const a = instance(store, source, { waitBudgetMs: 100 });
    await expect(a.get()).rejects.toBeInstanceOf(WxApiTimeoutError);
    expect(source.calls).toHaveLength(0);
  });

  it('fails, with the store’s own error, when the store cannot answer: no token of its own', async () => {
    const store = new MemoryWxSessionStore();
    store.readAccessToken = () =>
      Promise.reject(new WxSessionStoreUnavailableError('timeout', 'readAccessToken'));
    const source = tokenSource();
    await expect(instance(store, source).get()).rejects.toBeInstanceOf(WxSessionStoreUnavailableError);
    expect(source.calls).toHaveLength(0);
  });

  it('still uses a fetched token when publishing it fails', async () => {
    const store = new MemoryWxSessionStore();
    store.writeAccessToken = () =>
      Promise.reject(new WxSessionStoreUnavailableError('timeout', 'writeAccessToken'));
    const source = tokenSource();
    const a = instance(store, source);
    const token = a.get();
    await settle();
    source.answer('T-unpublished');
    await expect(token).resolves.toBe('T-unpublished');
    await expect(a.get()).resolves.toBe('T-unpublished');
  });

  it('invalidate() drops the local copy only: the next get reads the fleet’s token', async () => {
    const store = new MemoryWxSessionStore();
    const source = tokenSource();
    const a = instance(store, source);
    const first = a.get();
    await settle();
    source.answer('T1');
    await first;
    a.invalidate();
    await expect(a.get()).resolves.toBe('T1');
    expect(source.calls).toHaveLength(1);
  });
});

describe.each([
  ['MemoryWxSessionStore', false],
  ['RedisWxSessionStore', true],
])('WxApiClient with a shared access-token store (%s) against the fake WeChat', (_name, redis) => {
  let wechat: FakeWeChatServer;
  let apiBaseUrl: string;
  let stores: WxSessionStore[];
  const namespace = testNamespace('token');

  beforeAll(async () => {
    if (redis) await requireRedis();
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    apiBaseUrl = await wechat.start();
    if (redis) {
      stores = [
        new RedisWxSessionStore({ url: REDIS_URL, namespace }),
        new RedisWxSessionStore({ url: REDIS_URL, namespace }),
      ];
      await Promise.all(stores.map((store) => store.connect()));
    } else {
      const shared = new MemoryWxSessionStore();
      stores = [shared, shared];
    }
  });

  afterAll(async () => {
    await Promise.all((stores ?? []).map((store) => store.close()));
    await wechat?.stop();
    if (redis) await dropNamespace(namespace);
  });

  it('two clients, 100 concurrent callers each: one stable_token request; a rejection: one forced refresh', async () => {
    const clients = stores.map(
      (store) =>
        new WxApiClient({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl, accessTokenStore: store }),
    );
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (clients[i % 2] as WxApiClient).getAccessToken()),
    );
    expect(new Set(tokens).size).toBe(1);
    expect(wechat.requestCount('/cgi-bin/stable_token')).toBe(1);

    wechat.expireAccessTokens();
    const forcedBefore = wechat.forcedTokenRefreshCount();
    const user = wechat.issueCode({ openid: 'o-token-user' });
    const { sessionKey } = await (clients[0] as WxApiClient).code2Session(user);
    const checks = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (clients[i % 2] as WxApiClient).checkSessionKey('o-token-user', sessionKey),
      ),
    );
    expect(checks).toEqual(Array(20).fill(true));
    expect(wechat.forcedTokenRefreshCount() - forcedBefore).toBe(1);
    expect(wechat.requestCount('/cgi-bin/stable_token')).toBe(2);
  });

  it('refuses an accessTokenStore that is not one', () => {
    expect(
      () =>
        new WxApiClient({
          appId: APP_ID,
          appSecret: APP_SECRET,
          accessTokenStore: { readAccessToken: () => Promise.resolve(undefined) } as never,
        }),
    ).toThrow(/accessTokenStore must implement/);
  });
});
