import {
  loginCodeHash,
  MemoryWxSessionStore,
  RedisWxSessionStore,
  WxApiError,
  WxApiTimeoutError,
  WxLoginCodes,
  type WxRememberedLogin,
  type WxSessionStore,
} from '../../lib/index.js';
import { dropNamespace, requireRedis, REDIS_URL, testNamespace } from '../redis/support/redis-harness.js';

const LOGIN: WxRememberedLogin = { appId: 'wx0123456789abcdef', openid: 'o-dup-user', unionid: 'u-dup' };
const hash = (label: string): string => loginCodeHash('wx0123456789abcdef', `code-${label}-${Math.random()}`);

interface StoreUnderTest {
  readonly store: WxSessionStore;
  /** A second handle on the same data (another instance), or the same store for memory. */
  readonly peer: WxSessionStore;
  close(): Promise<void>;
}

const stores: [string, () => Promise<StoreUnderTest>][] = [
  [
    'memory',
    async () => {
      const store = new MemoryWxSessionStore();
      return { store, peer: store, close: () => Promise.resolve() };
    },
  ],
  [
    'redis',
    async () => {
      await requireRedis();
      const namespace = testNamespace('login-codes');
      const store = new RedisWxSessionStore({ url: REDIS_URL, namespace });
      const peer = new RedisWxSessionStore({ url: REDIS_URL, namespace });
      await Promise.all([store.connect(), peer.connect()]);
      return {
        store,
        peer,
        close: async () => {
          await Promise.all([store.close(), peer.close()]);
          await dropNamespace(namespace);
        },
      };
    },
  ],
];

describe.each(stores)('the login-code contract (%s store)', (_name, open) => {
  let under: StoreUnderTest;
  beforeAll(async () => {
    under = await open();
  });
  afterAll(() => under.close());

  it('claimed, then pending for everyone else, then done with the remembered login', async () => {
    const code = hash('flow');
    const first = await under.store.claimLoginCode(code, 10);
    expect(first.state).toBe('claimed');
    expect(await under.peer.claimLoginCode(code, 10)).toEqual({ state: 'pending' });
    await under.store.rememberLogin(code, LOGIN, 300);
    expect(await under.peer.claimLoginCode(code, 10)).toEqual({ state: 'done', login: LOGIN });
    expect(await under.store.claimLoginCode(code, 10)).toEqual({ state: 'done', login: LOGIN });
  });

  it('remembers a login without unionid as it is', async () => {
    const code = hash('no-union');
    await under.store.claimLoginCode(code, 10);
    await under.store.rememberLogin(code, { appId: LOGIN.appId, openid: 'o-plain' }, 300);
    expect(await under.peer.claimLoginCode(code, 10)).toEqual({
      state: 'done',
      login: { appId: LOGIN.appId, openid: 'o-plain' },
    });
  });

  it('of 50 concurrent claims across two handles exactly one is claimed', async () => {
    const code = hash('race');
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? under.store : under.peer).claimLoginCode(code, 10)),
    );
    expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.state === 'pending')).toHaveLength(49);
  });

  it("a release by the owner frees the code; another's release does not", async () => {
    const code = hash('release');
    const claim = await under.store.claimLoginCode(code, 10);
    if (claim.state !== 'claimed') throw new Error('expected a claim');
    await under.peer.releaseLoginCode(code, 'someone-else');
    expect(await under.peer.claimLoginCode(code, 10)).toEqual({ state: 'pending' });
    await under.store.releaseLoginCode(code, claim.owner);
    expect((await under.peer.claimLoginCode(code, 10)).state).toBe('claimed');
  });

  it('a release after the login was remembered keeps the login', async () => {
    const code = hash('late-release');
    const claim = await under.store.claimLoginCode(code, 10);
    if (claim.state !== 'claimed') throw new Error('expected a claim');
    await under.store.rememberLogin(code, LOGIN, 300);
    await under.store.releaseLoginCode(code, claim.owner);
    expect(await under.peer.claimLoginCode(code, 10)).toEqual({ state: 'done', login: LOGIN });
  });

  it('an unsettled claim lapses at its TTL; a remembered login at its own', async () => {
    const code = hash('ttl');
    await under.store.claimLoginCode(code, 0.05);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await under.peer.claimLoginCode(code, 10)).state).toBe('claimed');
    await under.store.rememberLogin(code, LOGIN, 0.05);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await under.peer.claimLoginCode(code, 10)).state).toBe('claimed');
  });

  it('refuses a TTL that is not a finite number', async () => {
    await expect(under.store.claimLoginCode(hash('nan'), Number.NaN)).rejects.toThrow(RangeError);
    await expect(under.store.rememberLogin(hash('inf'), LOGIN, Number.POSITIVE_INFINITY)).rejects.toThrow(
      RangeError,
    );
  });

  describe('WxLoginCodes on this store', () => {
    const codes = (store: WxSessionStore): WxLoginCodes =>
      new WxLoginCodes(store, { claimTtlSeconds: 5, waitBudgetMs: 2000, pollMs: 10 });

    it('20 concurrent redemptions of one code on two instances: one exchange, one fresh, all the same login', async () => {
      const a = codes(under.store);
      const b = codes(under.peer);
      let exchanges = 0;
      const exchange = async (): Promise<WxRememberedLogin> => {
        exchanges += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return LOGIN;
      };
      const code = `code-${Math.random()}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).redeem(LOGIN.appId, code, exchange)),
      );
      expect(exchanges).toBe(1);
      expect(results.filter((r) => r.fresh)).toHaveLength(1);
      for (const result of results) expect(result.login).toEqual(LOGIN);
      // A retry later still gets it, without an exchange.
      expect(await b.redeem(LOGIN.appId, code, exchange)).toEqual({ login: LOGIN, fresh: false });
      expect(exchanges).toBe(1);
    });

    it('a failed exchange gives the claim back: the next redemption tries again', async () => {
      const a = codes(under.store);
      const code = `code-${Math.random()}`;
      const outage = new WxApiTimeoutError('code2Session', 10);
      await expect(a.redeem(LOGIN.appId, code, () => Promise.reject(outage))).rejects.toBe(outage);
      await expect(codes(under.peer).redeem(LOGIN.appId, code, async () => LOGIN)).resolves.toEqual({
        login: LOGIN,
        fresh: true,
      });
    });

    it('40163 with nothing remembered is passed on after one call, never retried', async () => {
      let calls = 0;
      const used = new WxApiError('code2Session', 40163);
      const code = `code-${Math.random()}`;
      await expect(
        codes(under.store).redeem(LOGIN.appId, code, () => {
          calls += 1;
          return Promise.reject(used);
        }),
      ).rejects.toBe(used);
      expect(calls).toBe(1);
    });

    it('a duplicate gives up with a timeout when the holder never settles', async () => {
      const code = `code-${Math.random()}`;
      await under.store.claimLoginCode(loginCodeHash(LOGIN.appId, code), 30);
      const impatient = new WxLoginCodes(under.peer, { claimTtlSeconds: 5, waitBudgetMs: 100, pollMs: 10 });
      await expect(impatient.redeem(LOGIN.appId, code, async () => LOGIN)).rejects.toBeInstanceOf(
        WxApiTimeoutError,
      );
    });

    it('the store sees a hash, never the code', () => {
      const code = 'the-login-code-itself';
      const stored = loginCodeHash(LOGIN.appId, code);
      expect(stored).not.toContain(code);
      expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(loginCodeHash('wxfedcba9876543210', code)).not.toBe(stored);
    });
  });
});
