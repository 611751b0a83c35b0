import {
  createSessionToken,
  keyBudgetId,
  MemoryWxSessionStore,
  RedisWxSessionStore,
  wxUserId,
  type WxSessionStore,
  type WxSessionRecord,
  type WxSharedAccessToken,
  type WxUserKeys,
} from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import {
  dropNamespace,
  pause,
  REDIS_URL,
  RedisClusterProcesses,
  RedisSentinelProcesses,
  requireRedis,
  testNamespace,
} from '../redis/support/redis-harness.js';

/**
 * The WxSessionStore contract, run against every store the library ships: what the Nest layer
 * relies on, including atomicity under concurrency. Redis runs at 127.0.0.1:6379; the Redis
 * half fails (never skips) without it.
 */
interface StoreKit {
  /** A store; with Redis, each call opens its own connection on the same namespace. */
  open(): Promise<WxSessionStore>;
  cleanup(): Promise<void>;
}

function memoryKit(): StoreKit {
  const store = new MemoryWxSessionStore();
  return {
    // One store for the whole suite: two memory stores share nothing.
    open: () => Promise.resolve(store),
    cleanup: () => Promise.resolve(),
  };
}

/**
 * The contract is about answers, not deadlines (the outage suites test those): a generous command
 * timeout keeps a loaded machine from failing it with 503s.
 */
const commandTimeoutMs = 2000;

function redisKit(): StoreKit {
  const namespace = testNamespace('contract');
  const opened: RedisWxSessionStore[] = [];
  return {
    open: async () => {
      const store = new RedisWxSessionStore({ url: REDIS_URL, namespace, commandTimeoutMs });
      opened.push(store);
      await store.connect();
      return store;
    },
    cleanup: async () => {
      await Promise.all(opened.map((store) => store.close()));
      await dropNamespace(namespace);
    },
  };
}

/**
 * A Redis Cluster of three masters the suite starts itself: sessions and users' keys land in
 * different slots, so the store reads them in two steps, and the failure counter and its session
 * share a hash tag.
 */
function clusterKit(): StoreKit {
  const namespace = testNamespace('contract-cluster');
  let cluster: Promise<RedisClusterProcesses> | undefined;
  const opened: RedisWxSessionStore[] = [];
  return {
    open: async () => {
      const nodes = await (cluster ??= RedisClusterProcesses.start());
      const store = new RedisWxSessionStore({
        redisOptions: { rootNodes: nodes.rootNodes },
        namespace,
        commandTimeoutMs,
      });
      opened.push(store);
      await store.connect();
      return store;
    },
    cleanup: async () => {
      await Promise.all(opened.map((store) => store.close()));
      await (await cluster?.catch(() => undefined))?.stop();
    },
  };
}

/** A master watched by a Sentinel the suite starts itself; the store finds the master through it. */
function sentinelKit(): StoreKit {
  const namespace = testNamespace('contract-sentinel');
  let topology: Promise<RedisSentinelProcesses> | undefined;
  const opened: RedisWxSessionStore[] = [];
  return {
    open: async () => {
      const sentinel = await (topology ??= RedisSentinelProcesses.start());
      const store = new RedisWxSessionStore({ redisOptions: sentinel.options, namespace, commandTimeoutMs });
      opened.push(store);
      await store.connect();
      return store;
    },
    cleanup: async () => {
      await Promise.all(opened.map((store) => store.close()));
      await (await topology?.catch(() => undefined))?.stop();
    },
  };
}

const KITS: Array<[string, () => StoreKit]> = [
  ['MemoryWxSessionStore', memoryKit],
  ['RedisWxSessionStore', redisKit],
  ['RedisWxSessionStore on a Redis Cluster', clusterKit],
  ['RedisWxSessionStore through Redis Sentinel', sentinelKit],
];

const APP = 'wx0123456789abcdef';

function record(openid: string, extra: Partial<WxSessionRecord> = {}): WxSessionRecord {
  return { openid, appId: APP, createdAt: 1_700_000_000_000, ...extra };
}

function keys(version: number, extra: Partial<WxUserKeys> = {}): WxUserKeys {
  return { sessionKey: createSessionKey(), version, ...extra };
}

const uniqueId = (label: string): string => `${label}-${createSessionToken().slice(0, 12)}`;

/** The budget of a fresh key of a user of its own. */
const budgetOf = (label: string): string => keyBudgetId(APP, uniqueId(label), createSessionKey());

describe.each(KITS)('WxSessionStore contract: %s', (name, makeKit) => {
  let kit: StoreKit;
  let store: WxSessionStore;
  let other: WxSessionStore;

  beforeAll(async () => {
    if (name.startsWith('RedisWxSessionStore')) await requireRedis();
    kit = makeKit();
    store = await kit.open();
    other = await kit.open();
  });

  afterAll(async () => {
    await kit?.cleanup();
  });

  describe('sessions by token', () => {
    it('returns undefined for an unknown token', async () => {
      await expect(store.get(createSessionToken())).resolves.toBeUndefined();
      await expect(store.getSessionWithKeys(createSessionToken())).resolves.toBeUndefined();
    });

    it('returns what was stored, with and without unionid, to every instance', async () => {
      const [a, b] = [createSessionToken(), createSessionToken()];
      await store.set(a, record('o-a'), 60);
      await store.set(b, record('o-b', { unionid: 'u-b' }), 60);
      await expect(other.get(a)).resolves.toEqual(record('o-a'));
      await expect(other.get(b)).resolves.toEqual(record('o-b', { unionid: 'u-b' }));
    });

    it('stores a copy: mutating the object afterwards changes nothing', async () => {
      const token = createSessionToken();
      const written = record('o-copy');
      await store.set(token, written, 60);
      written.openid = 'o-tampered';
      await expect(store.get(token)).resolves.toEqual(record('o-copy'));
    });

    it('delete removes the session, and deleting an absent one is fine', async () => {
      const token = createSessionToken();
      await store.set(token, record('o-del'), 60);
      await other.delete(token);
      await expect(store.get(token)).resolves.toBeUndefined();
      await expect(store.delete(createSessionToken())).resolves.toBeUndefined();
    });

    it('expires a session on its TTL (seconds), and a TTL of zero or below removes it', async () => {
      const [short, zero, negative] = [createSessionToken(), createSessionToken(), createSessionToken()];
      await store.set(short, record('o-short'), 0.3);
      await store.set(zero, record('o-zero'), 0);
      await store.set(negative, record('o-negative'), -1);
      await expect(store.get(short)).resolves.toBeDefined();
      await expect(store.get(zero)).resolves.toBeUndefined();
      await expect(store.get(negative)).resolves.toBeUndefined();
      await pause(450);
      await expect(store.get(short)).resolves.toBeUndefined();
    });

    it.each([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
    ])('refuses a %s TTL everywhere (a session that never expires)', async (_label, ttl) => {
      const token = createSessionToken();
      await expect(store.set(token, record('o-nan'), ttl)).rejects.toThrow(RangeError);
      await expect(store.setUserKeys(uniqueId('u'), keys(1), null, ttl)).rejects.toThrow(RangeError);
      await expect(store.claimPayload(uniqueId('fp'), ttl)).rejects.toThrow(RangeError);
      await expect(store.takeKeyAttempt(budgetOf('o-nan'), 5, ttl)).rejects.toThrow(RangeError);
      await expect(store.lockAccessTokenRefresh(uniqueId('wx'), ttl)).rejects.toThrow(RangeError);
      await expect(store.get(token)).resolves.toBeUndefined();
    });
  });

  describe("users' keys: versioned compare-and-set", () => {
    it('writes the first keys only when no entry is expected', async () => {
      const user = wxUserId(APP, uniqueId('o'));
      const first = keys(1);
      await expect(store.setUserKeys(user, first, 0, 60)).resolves.toBe(false);
      await expect(store.setUserKeys(user, first, null, 60)).resolves.toBe(true);
      await expect(other.getUserKeys(user)).resolves.toEqual(first);
      await expect(store.setUserKeys(user, keys(2), null, 60)).resolves.toBe(false);
    });

    it('replaces keys only when the stored version is the expected one', async () => {
      const user = wxUserId(APP, uniqueId('o'));
      const version = Date.now() * 1000; // the size WxSessionService uses: must round-trip exactly
      await store.setUserKeys(user, keys(version), null, 60);
      const rotated = keys(version + 1, {
        previousSessionKey: createSessionKey(),
        previousKeyExpiresAt: Date.now() + 30_000,
      });
      await expect(store.setUserKeys(user, rotated, version - 1, 60)).resolves.toBe(false);
      await expect(store.setUserKeys(user, rotated, version + 1, 60)).resolves.toBe(false);
      await expect(other.setUserKeys(user, rotated, version, 60)).resolves.toBe(true);
      await expect(store.getUserKeys(user)).resolves.toEqual(rotated);
    });

    it('expired keys count as absent for the compare-and-set', async () => {
      const user = wxUserId(APP, uniqueId('o'));
      await store.setUserKeys(user, keys(1), null, 0.2);
      await pause(350);
      await expect(store.getUserKeys(user)).resolves.toBeUndefined();
      await expect(store.setUserKeys(user, keys(2), null, 60)).resolves.toBe(true);
    });

    it('of 50 racing first writes on two instances, exactly one wins, and its keys stay', async () => {
      const user = wxUserId(APP, uniqueId('o-race'));
      const candidates = Array.from({ length: 50 }, (_, i) => keys(i + 1));
      const results = await Promise.all(
        candidates.map((k, i) => (i % 2 === 0 ? store : other).setUserKeys(user, k, null, 60)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = candidates[results.indexOf(true)];
      await expect(store.getUserKeys(user)).resolves.toEqual(winner);
    });

    it('of 50 racing rotations from one version, exactly one wins; rounds never lose a write', async () => {
      const user = wxUserId(APP, uniqueId('o-rounds'));
      await store.setUserKeys(user, keys(1), null, 60);
      for (let round = 1; round <= 5; round += 1) {
        const candidates = Array.from({ length: 50 }, () => keys(round + 1));
        const results = await Promise.all(
          candidates.map((k, i) => (i % 2 === 0 ? store : other).setUserKeys(user, k, round, 60)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(other.getUserKeys(user)).resolves.toEqual(candidates[results.indexOf(true)]);
      }
    });
  });

  it("has one clock for the fleet, in microseconds, that users' key versions are taken from", async () => {
    const user = wxUserId(APP, uniqueId('o-clock'));
    const before = Date.now() * 1000;
    const [a, b] = [await store.clockMicros(user), await other.clockMicros(user)];
    for (const micros of [a, b]) {
      expect(Number.isSafeInteger(micros)).toBe(true);
      expect(Math.abs(micros - before)).toBeLessThan(5_000_000);
    }
    expect(b).toBeGreaterThanOrEqual(a);
  });

  describe('getSessionWithKeys', () => {
    it("returns the session with its user's keys in one call", async () => {
      const token = createSessionToken();
      const openid = uniqueId('o-both');
      const userKeys = keys(7);
      await store.setUserKeys(wxUserId(APP, openid), userKeys, null, 60);
      await store.set(token, record(openid, { unionid: 'u-both' }), 60);
      await expect(other.getSessionWithKeys(token)).resolves.toEqual({
        session: record(openid, { unionid: 'u-both' }),
        keys: userKeys,
      });
    });

    it('returns the session without keys when the user has none', async () => {
      const token = createSessionToken();
      await store.set(token, record(uniqueId('o-nokeys')), 60);
      await expect(store.getSessionWithKeys(token)).resolves.toEqual({
        session: expect.objectContaining({ appId: APP }),
        keys: undefined,
      });
    });

    it("sees a rotation of the user's keys made by another instance", async () => {
      const token = createSessionToken();
      const openid = uniqueId('o-rot');
      await store.setUserKeys(wxUserId(APP, openid), keys(1), null, 60);
      await store.set(token, record(openid), 60);
      const rotated = keys(2);
      await other.setUserKeys(wxUserId(APP, openid), rotated, 1, 60);
      await expect(store.getSessionWithKeys(token)).resolves.toEqual(
        expect.objectContaining({ keys: rotated }),
      );
    });
  });

  describe('replay cache', () => {
    it('accepts a fingerprint once, then refuses it until its TTL passes', async () => {
      const fingerprint = uniqueId('fp');
      await expect(store.claimPayload(fingerprint, 0.3)).resolves.toBe(true);
      await expect(other.claimPayload(fingerprint, 0.3)).resolves.toBe(false);
      await expect(store.claimPayload(fingerprint, 0.3)).resolves.toBe(false);
      await pause(450);
      await expect(other.claimPayload(fingerprint, 60)).resolves.toBe(true);
    });

    it('of 100 concurrent claims of one fingerprint on two instances, exactly one wins', async () => {
      const fingerprint = uniqueId('fp-race');
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? store : other).claimPayload(fingerprint, 60)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('keeps fingerprints apart', async () => {
      await expect(store.claimPayload(uniqueId('fp-a'), 60)).resolves.toBe(true);
      await expect(store.claimPayload(uniqueId('fp-b'), 60)).resolves.toBe(true);
    });
  });

  describe('key-attempt budget', () => {
    it('grants up to the limit across instances, then busy while in flight; a success gives its slot back', async () => {
      const budget = budgetOf('o-budget');
      const first = await Promise.all([store, other, store].map((s) => s.takeKeyAttempt(budget, 3, 60)));
      expect(first).toEqual(['granted', 'granted', 'granted']);
      await expect(other.takeKeyAttempt(budget, 3, 60)).resolves.toBe('busy');
      await other.settleKeyAttempt(budget, true);
      await expect(store.takeKeyAttempt(budget, 3, 60)).resolves.toBe('granted');
      await expect(store.takeKeyAttempt(budget, 3, 60)).resolves.toBe('busy');
      for (const s of [store, other, store]) await s.settleKeyAttempt(budget, false);
      await expect(other.takeKeyAttempt(budget, 3, 60)).resolves.toBe('spent');
      await other.settleKeyAttempt(budget, true);
      await expect(store.takeKeyAttempt(budget, 3, 60)).resolves.toBe('spent');
    });

    it('tells spent from busy: busy while failures plus attempts in flight reach the limit, spent once failures do', async () => {
      const budget = budgetOf('o-busy');
      await store.takeKeyAttempt(budget, 3, 60);
      await store.settleKeyAttempt(budget, false);
      await store.takeKeyAttempt(budget, 3, 60);
      await store.settleKeyAttempt(budget, false);
      await expect(other.takeKeyAttempt(budget, 3, 60)).resolves.toBe('granted');
      await expect(store.takeKeyAttempt(budget, 3, 60)).resolves.toBe('busy');
      await other.settleKeyAttempt(budget, false);
      await expect(store.takeKeyAttempt(budget, 3, 60)).resolves.toBe('spent');
    });

    it('of 120 concurrent takes on two instances, exactly the limit is granted; failing them spends the key', async () => {
      const budget = budgetOf('o-burst');
      const answers = await Promise.all(
        Array.from({ length: 120 }, (_, i) => (i % 2 ? store : other).takeKeyAttempt(budget, 5, 60)),
      );
      expect(answers.filter((a) => a === 'granted')).toHaveLength(5);
      expect(answers.filter((a) => a === 'busy')).toHaveLength(115);
      await Promise.all(
        Array.from({ length: 5 }, (_, i) => (i % 2 ? other : store).settleKeyAttempt(budget, false)),
      );
      await expect(store.takeKeyAttempt(budget, 5, 60)).resolves.toBe('spent');
    });

    it('of 100 concurrent requests that each take and fail, at most the limit ever evaluate the key', async () => {
      const budget = budgetOf('o-race');
      let evaluated = 0;
      const answers = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const s = i % 2 ? store : other;
          const answer = await s.takeKeyAttempt(budget, 5, 60);
          if (answer === 'granted') {
            evaluated += 1;
            await s.settleKeyAttempt(budget, false);
          }
          return answer;
        }),
      );
      expect(evaluated).toBeLessThanOrEqual(5);
      expect(evaluated).toBe(answers.filter((a) => a === 'granted').length);
      await expect(other.takeKeyAttempt(budget, 5, 60)).resolves.toBe(evaluated === 5 ? 'spent' : 'granted');
    });

    it('lives its TTL from the first take: later takes do not extend it', async () => {
      const budget = budgetOf('o-budget-ttl');
      await expect(store.takeKeyAttempt(budget, 2, 0.5)).resolves.toBe('granted');
      await store.settleKeyAttempt(budget, false);
      await pause(250);
      await expect(other.takeKeyAttempt(budget, 2, 0.5)).resolves.toBe('granted');
      await other.settleKeyAttempt(budget, false);
      await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('spent');
      // 650 ms after the first take, 400 ms after the second: gone only if the second did not extend it.
      await pause(400);
      await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
    });

    it('settling creates no budget, and never takes in-flight attempts below zero', async () => {
      const absent = budgetOf('o-settle-absent');
      await store.settleKeyAttempt(absent, false);
      await store.settleKeyAttempt(absent, false);
      await expect(other.takeKeyAttempt(absent, 1, 60)).resolves.toBe('granted');

      const budget = budgetOf('o-settle-twice');
      await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
      await store.settleKeyAttempt(budget, true);
      await other.settleKeyAttempt(budget, true);
      await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
      await expect(other.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
      await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('busy');
    });

    it('keeps budgets apart, and a logout (session delete) does not reset the key budget', async () => {
      const token = createSessionToken();
      await store.set(token, record('o-budget-logout'), 60);
      const [spent, fresh] = [budgetOf('o-budget-logout'), budgetOf('o-budget-other')];
      await store.takeKeyAttempt(spent, 1, 60);
      await store.settleKeyAttempt(spent, false);
      await other.delete(token);
      await expect(other.takeKeyAttempt(spent, 1, 60)).resolves.toBe('spent');
      await expect(other.takeKeyAttempt(fresh, 1, 60)).resolves.toBe('granted');
    });

    it.each([
      ['a zero limit', 'limit', 0],
      ['a fractional limit', 'limit', 2.5],
      ['a zero TTL', 'ttl', 0],
      ['a negative TTL', 'ttl', -1],
    ])('refuses %s (a budget that bounds nothing)', async (_label, which, value) => {
      const budget = budgetOf('o-bad-args');
      const [limit, ttl] = which === 'limit' ? [value, 60] : [5, value];
      await expect(store.takeKeyAttempt(budget, limit, ttl)).rejects.toThrow(RangeError);
    });

    it('refuses a budget id that is not base64url (it names a Redis key and its slot)', async () => {
      for (const id of ['', 'a}b{c', 'a b', 'x'.repeat(129)]) {
        await expect(store.takeKeyAttempt(id, 5, 60)).rejects.toThrow(TypeError);
        await expect(store.settleKeyAttempt(id, false)).rejects.toThrow(TypeError);
      }
    });
  });

  describe("the fleet's access token", () => {
    const token = (accessToken: string, lifetimeMs = 60_000): WxSharedAccessToken => ({
      accessToken,
      expiresAt: Date.now() + lifetimeMs,
      refreshAt: Date.now() + lifetimeMs / 2,
    });

    it('is published by one instance and read by another, per mini program', async () => {
      const [app, otherApp] = [uniqueId('wx'), uniqueId('wx')];
      await expect(store.readAccessToken(app)).resolves.toBeUndefined();
      const published = { ...token('AT-1'), forcedAt: Date.now() };
      await store.writeAccessToken(app, published);
      await expect(other.readAccessToken(app)).resolves.toEqual(published);
      await expect(other.readAccessToken(otherApp)).resolves.toBeUndefined();
      const replacement = token('AT-2');
      await other.writeAccessToken(app, replacement);
      await expect(store.readAccessToken(app)).resolves.toEqual(replacement);
    });

    it('is gone once it expires', async () => {
      const app = uniqueId('wx');
      await store.writeAccessToken(app, token('AT-short', 200));
      await pause(350);
      await expect(other.readAccessToken(app)).resolves.toBeUndefined();
    });

    it('has a refresh lock that one holder at a time gets, fleet-wide', async () => {
      const app = uniqueId('wx');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).lockAccessTokenRefresh(app, 5)),
      );
      const held = results.filter((lock) => lock !== undefined);
      expect(held).toHaveLength(1);
      await held[0]?.release();
      const next = await other.lockAccessTokenRefresh(app, 5);
      expect(next).toBeDefined();
      await next?.release();
    });

    it('lets a lock lapse at its TTL, and a late release does not free the next holder', async () => {
      const app = uniqueId('wx');
      const first = await store.lockAccessTokenRefresh(app, 0.2);
      expect(first).toBeDefined();
      await pause(350);
      const second = await other.lockAccessTokenRefresh(app, 5);
      expect(second).toBeDefined();
      await first?.release();
      await expect(store.lockAccessTokenRefresh(app, 5)).resolves.toBeUndefined();
      await second?.release();
    });
  });
});
