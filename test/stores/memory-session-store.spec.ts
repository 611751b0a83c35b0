import {
  createSessionToken,
  isSessionToken,
  keyBudgetId,
  MemoryWxSessionStore,
  WxSessionStore,
  WxOpenDataConfigError,
  wxUserId,
  type WxSessionRecord,
  type WxUserKeys,
} from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';

const START = 1_700_000_000_000;
const APP_ID = 'wx4f4bc4dec97d474b';

/** A clock the test moves by hand. */
class ManualClock {
  constructor(public ms = START) {}
  readonly now = (): number => this.ms;
  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

function session(openid: string, extra: Partial<WxSessionRecord> = {}): WxSessionRecord {
  return {
    openid,
    appId: 'wx4f4bc4dec97d474b',
    createdAt: START,
    ...extra,
  };
}

describe('MemoryWxSessionStore', () => {
  describe('get / set / delete', () => {
    it('is a WxSessionStore', () => {
      expect(new MemoryWxSessionStore()).toBeInstanceOf(WxSessionStore);
    });

    it('returns undefined for an unknown token', async () => {
      const store = new MemoryWxSessionStore();
      await expect(store.get(createSessionToken())).resolves.toBeUndefined();
      expect(store.size).toBe(0);
    });

    it('returns what was stored, per token', async () => {
      const store = new MemoryWxSessionStore();
      const [a, b] = [createSessionToken(), createSessionToken()];
      const alice = session('o-alice', { unionid: 'u-alice' });
      const bob = session('o-bob');
      await expect(store.set(a, alice, 60)).resolves.toBeUndefined();
      await store.set(b, bob, 60);
      await expect(store.get(a)).resolves.toEqual(alice);
      await expect(store.get(b)).resolves.toEqual(bob);
      expect(store.size).toBe(2);
    });

    it('replaces the session of a token that is set again', async () => {
      const store = new MemoryWxSessionStore();
      const token = createSessionToken();
      await store.set(token, session('o-first'), 60);
      const second = session('o-second');
      await store.set(token, second, 60);
      await expect(store.get(token)).resolves.toEqual(second);
      expect(store.size).toBe(1);
    });

    it('deletes a session, and deleting an absent one is not an error', async () => {
      const store = new MemoryWxSessionStore();
      const [a, b] = [createSessionToken(), createSessionToken()];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      await expect(store.delete(a)).resolves.toBeUndefined();
      await expect(store.get(a)).resolves.toBeUndefined();
      await expect(store.get(b)).resolves.toEqual(expect.objectContaining({ openid: 'o-b' }));
      await expect(store.delete(a)).resolves.toBeUndefined();
      await expect(store.delete(createSessionToken())).resolves.toBeUndefined();
      expect(store.size).toBe(1);
    });

    it('keeps separate stores separate', async () => {
      const one = new MemoryWxSessionStore();
      const two = new MemoryWxSessionStore();
      const token = createSessionToken();
      await one.set(token, session('o-one'), 60);
      await expect(two.get(token)).resolves.toBeUndefined();
    });
  });

  describe('TTL', () => {
    it('returns a session until its TTL is reached, then not (TTL in seconds)', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const token = createSessionToken();
      await store.set(token, session('o-ttl'), 30);

      clock.advanceSeconds(29);
      await expect(store.get(token)).resolves.toEqual(expect.objectContaining({ openid: 'o-ttl' }));
      clock.ms = START + 30_000 - 1;
      await expect(store.get(token)).resolves.toEqual(expect.objectContaining({ openid: 'o-ttl' }));
      clock.ms = START + 30_000;
      await expect(store.get(token)).resolves.toBeUndefined();
    });

    it('does not renew the TTL on read', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const token = createSessionToken();
      await store.set(token, session('o-read'), 10);
      for (let i = 0; i < 9; i += 1) {
        clock.advanceSeconds(1);
        await expect(store.get(token)).resolves.toBeDefined();
      }
      clock.advanceSeconds(1);
      await expect(store.get(token)).resolves.toBeUndefined();
    });

    it('stays gone once expired, even if the clock goes back', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const token = createSessionToken();
      await store.set(token, session('o-gone'), 10);
      clock.advanceSeconds(11);
      await expect(store.get(token)).resolves.toBeUndefined();
      expect(store.size).toBe(0);
      clock.ms = START;
      await expect(store.get(token)).resolves.toBeUndefined();
    });

    it('restarts the TTL when a token is set again', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const token = createSessionToken();
      await store.set(token, session('o-renew'), 10);
      clock.advanceSeconds(8);
      await store.set(token, session('o-renew'), 10);
      clock.advanceSeconds(8);
      await expect(store.get(token)).resolves.toBeDefined();
      clock.advanceSeconds(2);
      await expect(store.get(token)).resolves.toBeUndefined();
    });

    it('expires each session on its own TTL', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const [short, long] = [createSessionToken(), createSessionToken()];
      await store.set(short, session('o-short'), 5);
      await store.set(long, session('o-long'), 7200);
      clock.advanceSeconds(6);
      await expect(store.get(short)).resolves.toBeUndefined();
      await expect(store.get(long)).resolves.toBeDefined();
      clock.advanceSeconds(7200 - 6);
      await expect(store.get(long)).resolves.toBeUndefined();
    });

    it('treats a TTL of zero or below as already expired', async () => {
      const store = new MemoryWxSessionStore({ now: () => START });
      const [zero, negative] = [createSessionToken(), createSessionToken()];
      await store.set(zero, session('o-zero'), 0);
      await store.set(negative, session('o-negative'), -10);
      await expect(store.get(zero)).resolves.toBeUndefined();
      await expect(store.get(negative)).resolves.toBeUndefined();
    });

    // Exposes a fail-open: `expiresAt = now + NaN * 1000` is NaN and `NaN <= now` is false, so a
    // session stored with a NaN TTL (e.g. a TTL read from a missing config value) never expires.
    it('never keeps a session stored with a NaN TTL', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const token = createSessionToken();
      const stored = await (async () => store.set(token, session('o-nan'), Number.NaN))().then(
        () => true,
        () => false,
      );
      clock.advanceSeconds(365 * 86_400);
      // Either set refuses the TTL, or the session is not handed out a year later.
      await expect(stored ? store.get(token) : Promise.resolve(undefined)).resolves.toBeUndefined();
    });

    it('uses the real clock by default', async () => {
      const store = new MemoryWxSessionStore();
      const [live, dead] = [createSessionToken(), createSessionToken()];
      await store.set(live, session('o-live'), 3600);
      await store.set(dead, session('o-dead'), -1);
      await expect(store.get(live)).resolves.toBeDefined();
      await expect(store.get(dead)).resolves.toBeUndefined();
    });
  });

  describe("users' keys (compare-and-set)", () => {
    const keys = (version: number, extra: Partial<WxUserKeys> = {}): WxUserKeys => ({
      sessionKey: createSessionKey(),
      version,
      ...extra,
    });

    it('writes the first keys only when no entry is expected', async () => {
      const store = new MemoryWxSessionStore();
      const first = keys(1);
      await expect(store.setUserKeys('wx:o-a', first, 0, 60)).resolves.toBe(false);
      await expect(store.getUserKeys('wx:o-a')).resolves.toBeUndefined();
      await expect(store.setUserKeys('wx:o-a', first, null, 60)).resolves.toBe(true);
      await expect(store.getUserKeys('wx:o-a')).resolves.toEqual(first);
    });

    it('replaces keys only when the stored version is the expected one', async () => {
      const store = new MemoryWxSessionStore();
      await store.setUserKeys('wx:o-b', keys(1), null, 60);
      const second = keys(2);
      await expect(store.setUserKeys('wx:o-b', keys(3), null, 60)).resolves.toBe(false);
      await expect(store.setUserKeys('wx:o-b', keys(3), 2, 60)).resolves.toBe(false);
      await expect(store.setUserKeys('wx:o-b', second, 1, 60)).resolves.toBe(true);
      await expect(store.getUserKeys('wx:o-b')).resolves.toEqual(second);
    });

    it('keeps user keys apart from a session stored under the same string', async () => {
      const store = new MemoryWxSessionStore();
      const token = createSessionToken();
      await store.set(token, session('o-same'), 60);
      await expect(store.getUserKeys(token)).resolves.toBeUndefined();
      await store.setUserKeys(token, keys(1), null, 60);
      await expect(store.get(token)).resolves.toEqual(expect.objectContaining({ openid: 'o-same' }));
      expect(store.size).toBe(2);
    });

    it('expires user keys on their TTL', async () => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      await store.setUserKeys('wx:o-ttl', keys(1), null, 10);
      clock.advanceSeconds(10);
      await expect(store.getUserKeys('wx:o-ttl')).resolves.toBeUndefined();
      // Expired counts as absent for the compare-and-set too.
      await expect(store.setUserKeys('wx:o-ttl', keys(2), null, 10)).resolves.toBe(true);
    });

    it('stores a copy: mutating the object afterwards changes nothing', async () => {
      const store = new MemoryWxSessionStore();
      const written = keys(1);
      const original = written.sessionKey;
      await store.setUserKeys('wx:o-copy', written, null, 60);
      written.sessionKey = 'tampered';
      await expect(store.getUserKeys('wx:o-copy')).resolves.toEqual(
        expect.objectContaining({ sessionKey: original }),
      );
    });
  });

  describe('compact entries (issue 16) hand back exactly what was stored', () => {
    it.each([
      ['a clock-like createdAt', START],
      ['createdAt 0', 0],
      ['a fractional createdAt', START + 0.25],
      ['a negative createdAt', -5],
      ['the largest safe createdAt', Number.MAX_SAFE_INTEGER],
    ])('a session with %s, with and without unionid, expiring on time', async (_label, createdAt) => {
      const clock = new ManualClock();
      const store = new MemoryWxSessionStore({ now: clock.now });
      const [plain, union] = [createSessionToken(), createSessionToken()];
      await store.set(plain, session('o-exact', { createdAt }), 0.5);
      await store.set(union, session('o-exact-u', { createdAt, unionid: 'u-exact' }), 10);
      await expect(store.get(plain)).resolves.toEqual(session('o-exact', { createdAt }));
      await expect(store.get(union)).resolves.toEqual(
        session('o-exact-u', { createdAt, unionid: 'u-exact' }),
      );
      clock.ms += 499;
      await expect(store.get(plain)).resolves.toBeDefined();
      clock.ms += 1;
      await expect(store.get(plain)).resolves.toBeUndefined();
    });

    it.each([
      ['a clock reading in microseconds', START * 1000],
      ['version 1', 1],
      ['a fractional version', 2.5],
      ['a negative version', -3],
      ['the largest safe version', Number.MAX_SAFE_INTEGER],
    ])(
      "a user's keys with %s, with and without a previous key, expiring on time",
      async (_label, version) => {
        const clock = new ManualClock();
        const store = new MemoryWxSessionStore({ now: clock.now });
        const plain: WxUserKeys = { sessionKey: createSessionKey(), version };
        const rotated: WxUserKeys = {
          sessionKey: createSessionKey(),
          version,
          previousSessionKey: createSessionKey(),
          previousKeyExpiresAt: START + 0.5,
        };
        await store.setUserKeys('wx:o-plain', plain, null, 30);
        await store.setUserKeys('wx:o-rotated', rotated, null, 30);
        await expect(store.getUserKeys('wx:o-plain')).resolves.toEqual(plain);
        await expect(store.getUserKeys('wx:o-rotated')).resolves.toEqual(rotated);
        clock.advanceSeconds(30);
        await expect(store.getUserKeys('wx:o-plain')).resolves.toBeUndefined();
      },
    );
  });

  describe('LRU bound', () => {
    it('evicts the least recently used entry past maxEntries', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 3 });
      const [a, b, c, d] = [
        createSessionToken(),
        createSessionToken(),
        createSessionToken(),
        createSessionToken(),
      ];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      await store.set(c, session('o-c'), 60);
      expect(store.size).toBe(3);
      await store.set(d, session('o-d'), 60);
      expect(store.size).toBe(3);
      await expect(store.get(a)).resolves.toBeUndefined();
      for (const token of [b, c, d]) await expect(store.get(token)).resolves.toBeDefined();
    });

    it('keeps a recently read entry and evicts the least recently used one instead', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 3 });
      const [a, b, c, d] = [
        createSessionToken(),
        createSessionToken(),
        createSessionToken(),
        createSessionToken(),
      ];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      await store.set(c, session('o-c'), 60);
      // Reading `a` makes it the most recently used: `b` is now the least.
      await expect(store.get(a)).resolves.toEqual(expect.objectContaining({ openid: 'o-a' }));
      await store.set(d, session('o-d'), 60);
      await expect(store.get(b)).resolves.toBeUndefined();
      await expect(store.get(a)).resolves.toEqual(expect.objectContaining({ openid: 'o-a' }));
      await expect(store.get(c)).resolves.toBeDefined();
      await expect(store.get(d)).resolves.toBeDefined();
    });

    it('counts setting an existing token again as a use', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 2 });
      const [a, b, c] = [createSessionToken(), createSessionToken(), createSessionToken()];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      await store.set(a, session('o-a2'), 60);
      await store.set(c, session('o-c'), 60);
      await expect(store.get(b)).resolves.toBeUndefined();
      await expect(store.get(a)).resolves.toEqual(expect.objectContaining({ openid: 'o-a2' }));
    });

    it('does not count a miss on an unknown token as a use of anything', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 2 });
      const [a, b, c] = [createSessionToken(), createSessionToken(), createSessionToken()];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      await store.get(createSessionToken());
      await store.set(c, session('o-c'), 60);
      await expect(store.get(a)).resolves.toBeUndefined();
      await expect(store.get(b)).resolves.toBeDefined();
    });

    it('frees room on delete, so nothing is evicted', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 2 });
      const [a, b, c] = [createSessionToken(), createSessionToken(), createSessionToken()];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      await store.delete(b);
      await store.set(c, session('o-c'), 60);
      await expect(store.get(a)).resolves.toBeDefined();
      await expect(store.get(c)).resolves.toBeDefined();
    });

    it('holds a single entry with maxEntries 1', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 1 });
      const [a, b] = [createSessionToken(), createSessionToken()];
      await store.set(a, session('o-a'), 60);
      await store.set(b, session('o-b'), 60);
      expect(store.size).toBe(1);
      await expect(store.get(a)).resolves.toBeUndefined();
      await expect(store.get(b)).resolves.toEqual(expect.objectContaining({ openid: 'o-b' }));
    });

    it('never grows past maxEntries', async () => {
      const store = new MemoryWxSessionStore({ maxEntries: 50 });
      const tokens = Array.from({ length: 200 }, () => createSessionToken());
      for (const [i, token] of tokens.entries()) {
        await store.set(token, session(`o-${i}`), 60);
        expect(store.size).toBeLessThanOrEqual(50);
      }
      expect(store.size).toBe(50);
      // Exactly the 50 most recent survive.
      for (const token of tokens.slice(0, 150)) await expect(store.get(token)).resolves.toBeUndefined();
      for (const token of tokens.slice(150)) await expect(store.get(token)).resolves.toBeDefined();
    });

    it.each([
      ['0', 0],
      ['negative', -1],
      ['fractional', 2.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['beyond the safe integers', 2 ** 53],
      ['a numeric string', '10' as unknown as number],
    ])('refuses a maxEntries that is %s', (_name, maxEntries) => {
      expect(() => new MemoryWxSessionStore({ maxEntries })).toThrow(WxOpenDataConfigError);
      expect(() => new MemoryWxSessionStore({ maxEntries })).toThrow(/maxEntries/);
    });

    it('reports every bad option at once, in one WxOpenDataConfigError', () => {
      const options = { maxEntries: 0, maxReplayMarks: -1, now: 5 as unknown as () => number };
      expect(() => new MemoryWxSessionStore(options)).toThrow(WxOpenDataConfigError);
      try {
        new MemoryWxSessionStore(options);
      } catch (error) {
        expect((error as WxOpenDataConfigError).problems).toEqual([
          'maxEntries must be a positive integer',
          'maxReplayMarks must be a positive integer',
          'now must be a function returning milliseconds since the epoch',
        ]);
        expect((error as Error).message).toMatch(/^Invalid MemoryWxSessionStore options:/);
      }
    });

    it('accepts the default and any positive integer', () => {
      expect(() => new MemoryWxSessionStore()).not.toThrow();
      expect(() => new MemoryWxSessionStore({})).not.toThrow();
      expect(() => new MemoryWxSessionStore({ maxEntries: 1 })).not.toThrow();
      expect(() => new MemoryWxSessionStore({ maxEntries: 1_000_000 })).not.toThrow();
    });
  });
});

describe('MemoryWxSessionStore: fleet state in one process', () => {
  it('keeps replay marks apart from sessions: a burst of marks evicts no session', async () => {
    const store = new MemoryWxSessionStore({ maxEntries: 2, maxReplayMarks: 1000 });
    const token = createSessionToken();
    await store.set(token, session('o-kept'), 60);
    for (let i = 0; i < 500; i += 1) await expect(store.claimPayload(`fp-${i}`, 60)).resolves.toBe(true);
    await expect(store.get(token)).resolves.toEqual(expect.objectContaining({ openid: 'o-kept' }));
    expect(store.size).toBe(1);
  });

  it('bounds replay marks by maxReplayMarks, dropping the oldest first', async () => {
    const store = new MemoryWxSessionStore({ maxReplayMarks: 3 });
    for (const fp of ['a', 'b', 'c', 'd']) await expect(store.claimPayload(fp, 60)).resolves.toBe(true);
    for (const fp of ['b', 'c', 'd']) await expect(store.claimPayload(fp, 60)).resolves.toBe(false);
    // `a` was the oldest, dropped early to stay within the bound; marking it again drops `b`.
    await expect(store.claimPayload('a', 60)).resolves.toBe(true);
    for (const fp of ['c', 'd', 'a']) await expect(store.claimPayload(fp, 60)).resolves.toBe(false);
    await expect(store.claimPayload('b', 60)).resolves.toBe(true);
  });

  it('expires replay marks on their own TTLs, whatever the order they were made in', async () => {
    const clock = new ManualClock();
    const store = new MemoryWxSessionStore({ now: clock.now });
    await store.claimPayload('long', 100);
    await store.claimPayload('short', 10);
    clock.advanceSeconds(10);
    await expect(store.claimPayload('short', 10)).resolves.toBe(true);
    await expect(store.claimPayload('long', 100)).resolves.toBe(false);
    clock.advanceSeconds(90);
    await expect(store.claimPayload('long', 100)).resolves.toBe(true);
    // The re-made `short` mark (made at 10 s, for 10 s) is long gone; made again, it holds.
    await expect(store.claimPayload('short', 10)).resolves.toBe(true);
    await expect(store.claimPayload('short', 10)).resolves.toBe(false);
  });

  it('stays correct over many marks made and expired (the queue compacts)', async () => {
    const clock = new ManualClock();
    const store = new MemoryWxSessionStore({ now: clock.now, maxReplayMarks: 5000 });
    for (let i = 0; i < 20_000; i += 1) {
      if (i > 0 && i % 1000 === 0) clock.advanceSeconds(1);
      await expect(store.claimPayload(`fp-${i}`, 1)).resolves.toBe(true);
    }
    await expect(store.claimPayload('fp-19999', 1)).resolves.toBe(false);
    await expect(store.claimPayload('fp-0', 1)).resolves.toBe(true);
  });

  it('keeps each key budget for its own TTL from the first take, on its clock', async () => {
    const clock = new ManualClock();
    const store = new MemoryWxSessionStore({ now: clock.now });
    const budget = keyBudgetId(APP_ID, 'o-count', createSessionKey());
    await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
    await store.settleKeyAttempt(budget, false);
    clock.advanceSeconds(59);
    await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
    await store.settleKeyAttempt(budget, false);
    await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('spent');
    clock.advanceSeconds(1);
    await expect(store.takeKeyAttempt(budget, 2, 60)).resolves.toBe('granted');
    // A settle after the budget expired counts on no new one.
    clock.advanceSeconds(60);
    await store.settleKeyAttempt(budget, false);
    await expect(store.takeKeyAttempt(budget, 1, 60)).resolves.toBe('granted');
    expect(store.size).toBe(0);
  });

  // Issue 11 §1, eviction: the per-session failure count sat in the LRU of sessions and was never
  // refreshed there, while each request refreshed the session: with maxEntries 1000 and ordinary
  // churn one session made 40 failures and stayed alive.
  it('never evicts a live key budget before the session and keys it protects (maxEntries 1000, churn)', async () => {
    const store = new MemoryWxSessionStore({ maxEntries: 1000 });
    const victim = { token: createSessionToken(), openid: 'o-victim', sessionKey: createSessionKey() };
    await store.setUserKeys(
      wxUserId(APP_ID, victim.openid),
      { sessionKey: victim.sessionKey, version: 1 },
      null,
      3600,
    );
    await store.set(victim.token, session(victim.openid), 3600);

    /** One guarded request: read the session, take an attempt of its key, settle it. */
    const request = async (token: string, succeeds: boolean): Promise<boolean> => {
      const found = await store.getSessionWithKeys(token);
      if (found?.keys === undefined) return false;
      const budget = keyBudgetId(found.session.appId, found.session.openid, found.keys.sessionKey);
      if ((await store.takeKeyAttempt(budget, 5, 3600)) !== 'granted') return false;
      await store.settleKeyAttempt(budget, succeeds);
      return true;
    };

    let evaluated = 0;
    for (let round = 0; round < 40; round += 1) {
      // Ordinary churn: 150 users log in and make a request each, so entries are evicted and
      // budgets pass their bound several times over.
      for (let i = 0; i < 150; i += 1) {
        const [token, openid] = [createSessionToken(), `o-churn-${round}-${i}`];
        await store.setUserKeys(
          wxUserId(APP_ID, openid),
          { sessionKey: createSessionKey(), version: 1 },
          null,
          3600,
        );
        await store.set(token, session(openid), 3600);
        await request(token, true);
      }
      if (await request(victim.token, false)) evaluated += 1;
    }
    // The victim's session is alive (each attempt read it), and its key was evaluated 5 times.
    await expect(store.get(victim.token)).resolves.toBeDefined();
    expect(evaluated).toBe(5);
  });

  it('past the bound of budgets, drops those whose key left the store, keeps those of keys still here', async () => {
    const store = new MemoryWxSessionStore({ maxEntries: 4 });
    const kept = { openid: 'o-kept', sessionKey: createSessionKey(), previous: createSessionKey() };
    await store.setUserKeys(
      wxUserId(APP_ID, kept.openid),
      {
        sessionKey: kept.sessionKey,
        version: 2,
        previousSessionKey: kept.previous,
        previousKeyExpiresAt: Date.now() + 60_000,
      },
      null,
      60,
    );
    const current = keyBudgetId(APP_ID, kept.openid, kept.sessionKey);
    const previous = keyBudgetId(APP_ID, kept.openid, kept.previous);
    const gone = keyBudgetId(APP_ID, 'o-not-here', createSessionKey());
    for (const budget of [current, previous, gone]) {
      await store.takeKeyAttempt(budget, 1, 60);
      await store.settleKeyAttempt(budget, false);
    }
    // 3 × maxEntries budgets at most: 40 more sweep the ones of absent keys.
    for (let i = 0; i < 40; i += 1)
      await store.takeKeyAttempt(keyBudgetId(APP_ID, `o-${i}`, createSessionKey()), 1, 60);
    await expect(store.takeKeyAttempt(current, 1, 60)).resolves.toBe('spent');
    await expect(store.takeKeyAttempt(previous, 1, 60)).resolves.toBe('spent');
    await expect(store.takeKeyAttempt(gone, 1, 60)).resolves.toBe('granted');
    expect(store.size).toBe(1);
  });

  it('reads its clock for key versions from the now option, in microseconds', async () => {
    const store = new MemoryWxSessionStore({ now: () => START });
    await expect(store.clockMicros('wx:o')).resolves.toBe(START * 1000);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxReplayMarks %p', (maxReplayMarks) => {
    expect(() => new MemoryWxSessionStore({ maxReplayMarks })).toThrow(/maxReplayMarks/);
  });
});

describe('key budget ids', () => {
  it('are 22 base64url characters, the same for one user and key, different for another key, user or app', () => {
    const key = createSessionKey();
    const id = keyBudgetId(APP_ID, 'o-a', key);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(keyBudgetId(APP_ID, 'o-a', key)).toBe(id);
    expect(keyBudgetId(APP_ID, 'o-a', createSessionKey())).not.toBe(id);
    expect(keyBudgetId(APP_ID, 'o-b', key)).not.toBe(id);
    expect(keyBudgetId('wx0000000000000000', 'o-a', key)).not.toBe(id);
  });

  it('show no part of the key', () => {
    for (let i = 0; i < 50; i += 1) {
      const key = createSessionKey();
      const id = keyBudgetId(APP_ID, 'o-a', key);
      const raw = Buffer.from(key, 'base64');
      for (const form of [
        key,
        key.slice(0, 8),
        raw.toString('base64url').slice(0, 8),
        raw.toString('hex').slice(0, 8),
      ]) {
        expect(id).not.toContain(form);
      }
    }
  });
});

describe('session tokens', () => {
  it('createSessionToken gives 43 base64url characters (256 bits, no padding)', () => {
    for (let i = 0; i < 50; i += 1) {
      const token = createSessionToken();
      expect(token).toHaveLength(43);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(Buffer.from(token, 'base64url').toString('base64url')).toBe(token);
    }
  });

  it('createSessionToken differs on each call', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => createSessionToken()));
    expect(tokens.size).toBe(1000);
  });

  it('isSessionToken accepts issued tokens', () => {
    for (let i = 0; i < 50; i += 1) expect(isSessionToken(createSessionToken())).toBe(true);
    expect(isSessionToken('A'.repeat(43))).toBe(true);
    expect(isSessionToken('-_'.repeat(21) + 'a')).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['42 characters', 'A'.repeat(42)],
    ['44 characters', 'A'.repeat(44)],
    ['padded', `${'A'.repeat(42)}=`],
    ['standard base64 `+`', `${'A'.repeat(42)}+`],
    ['standard base64 `/`', `${'A'.repeat(42)}/`],
    ['a trailing newline', `${'A'.repeat(43)}\n`],
    ['a leading space', ` ${'A'.repeat(42)}`],
    ['a dot', `${'A'.repeat(42)}.`],
    ['a non-ASCII letter', `${'A'.repeat(42)}é`],
    ['a JWT-like value', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefg'],
    ['a session key', createSessionKey()],
  ])('isSessionToken rejects a string that is %s', (_name, value) => {
    expect(isSessionToken(value)).toBe(false);
  });

  it('isSessionToken rejects a token with extra text around it', () => {
    const token = createSessionToken();
    expect(isSessionToken(`${token}x`)).toBe(false);
    expect(isSessionToken(`x${token}`)).toBe(false);
    expect(isSessionToken(`Bearer ${token}`)).toBe(false);
  });

  it('isSessionToken rejects values that are not strings', () => {
    const token = createSessionToken();
    for (const value of [undefined, null, 43, [token], { token }, Buffer.from(token), new String(token)]) {
      expect(isSessionToken(value)).toBe(false);
    }
  });
});
