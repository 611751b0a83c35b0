/**
 * Issue 11 §1: the key-attempt budget bounds evaluations of one user key, whatever the number of
 * concurrent requests, tokens or logins that keep the key, on both platforms and both stores.
 * Decryptions are counted at `node:crypto` itself (the spy), not from the library's own account.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WxSessionStore } from '../../lib/index.js';
import { installCryptoSpy } from './support/crypto-spy.js';

const calls = installCryptoSpy();
const { ADAPTERS } = await import('../support/nest-app.js');
const { ProbedSessionRoute, OpenDataRoutes, startAdversarialApp } = await import('./support/app.js');
const { APP_ID, seededBytes, seededSessionKey } = await import('./support/bodies.js');
const { runPool } = await import('./support/http.js');
const { MemoryWxSessionStore, RedisWxSessionStore } = await import('../../lib/index.js');
const { REDIS_URL, requireRedis, testNamespace } = await import('../redis/support/redis-harness.js');

const MAX_KEY_FAILURES = 5;
const BURST = 120;

type StoreName = 'memory' | 'redis';
const STORES: StoreName[] = ['memory', 'redis'];

function buildStore(name: StoreName): WxSessionStore {
  return name === 'memory'
    ? new MemoryWxSessionStore()
    : // A generous command timeout: the bound under test is the budget's, not the circuit's.
      new RedisWxSessionStore({
        url: REDIS_URL,
        namespace: testNamespace('key-budget'),
        commandTimeoutMs: 5000,
      });
}

/** A body whose ciphertext is random blocks: bad padding, almost surely. Same length for all. */
function badPaddingBody(index: number): string {
  const ciphertext = Buffer.concat([seededBytes(`bad:${index}:a`), seededBytes(`bad:${index}:b`)]);
  return JSON.stringify({
    encryptedData: ciphertext.toString('base64'),
    iv: seededBytes(`iv:${index}`).toString('base64'),
  });
}

describe.each(ADAPTERS)('key-attempt budget (%s)', (adapter) => {
  describe.each(STORES)('with the %s store', (storeName) => {
    let app: Awaited<ReturnType<typeof startAdversarialApp>>;
    let store: WxSessionStore;
    beforeAll(async () => {
      if (storeName === 'redis') await requireRedis();
      store = buildStore(storeName);
      app = await startAdversarialApp(adapter, {
        module: { sessionStore: store, maxKeyFailures: MAX_KEY_FAILURES },
        controllers: [OpenDataRoutes, ProbedSessionRoute],
        maxSockets: BURST,
      });
    });
    afterAll(async () => {
      await app.close();
      await store.close();
    });

    it(`${BURST} simultaneous bad-padding requests on one session over open sockets: at most ${MAX_KEY_FAILURES} decryptions`, async () => {
      const owner = {
        openid: `o-burst-${adapter}-${storeName}`,
        sessionKey: seededSessionKey(`burst:${adapter}:${storeName}`),
        appId: APP_ID,
      };
      const token = await app.sessions.create(owner);
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      // Open every socket first: the burst then arrives at once, without connection set-up.
      const warm = await Promise.all(
        Array.from({ length: BURST }, () => app.client.send({ method: 'GET', path: '/me', headers: auth })),
      );
      expect(warm.every((res) => res.status === 200)).toBe(true);
      const before = calls.deciphers;
      const bodies = Array.from({ length: BURST }, (_, i) => badPaddingBody(i));
      const answers = await Promise.all(
        bodies.map((body) => app.client.send({ path: '/profile', headers: auth, body })),
      );
      const decryptions = calls.deciphers - before;
      const statuses: Record<string, number> = {};
      for (const res of answers) {
        const key = `${res.status} ${(JSON.parse(res.text) as { code?: string }).code ?? ''}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      expect(decryptions).toBeLessThanOrEqual(MAX_KEY_FAILURES);
      expect(statuses['401 WX_OPEN_DATA_REJECTED'] ?? 0).toBeLessThanOrEqual(MAX_KEY_FAILURES);
      // The rest were refused before the key was touched: busy (retry) or spent (log in again).
      const refusedEarly = (statuses['429 WX_KEY_BUSY'] ?? 0) + (statuses['401 WX_SESSION_REQUIRED'] ?? 0);
      expect(refusedEarly + (statuses['401 WX_OPEN_DATA_REJECTED'] ?? 0)).toBe(BURST);
      // Spent: the next attempt deletes the user's keys, and the log says why, once.
      const next = await app.client.send({ path: '/profile', headers: auth, body: badPaddingBody(BURST) });
      expect(JSON.parse(next.text).code).toBe('WX_SESSION_REQUIRED');
      const after = await app.client.send({ method: 'GET', path: '/me', headers: auth });
      expect(after.status).toBe(401);
      expect(calls.deciphers - before).toBeLessThanOrEqual(MAX_KEY_FAILURES);
      expect(app.logger.containing(`${owner.appId} is spent`)).toHaveLength(1);
    });

    it(`20 logins keeping one key: at most ${MAX_KEY_FAILURES} evaluations of it`, async () => {
      const owner = {
        openid: `o-logins-${adapter}-${storeName}`,
        sessionKey: seededSessionKey(`logins:${adapter}:${storeName}`),
        appId: APP_ID,
      };
      const tokens: string[] = [];
      for (let i = 0; i < 20; i += 1) tokens.push(await app.sessions.create(owner));
      const before = calls.deciphers;
      const { results } = await runPool(tokens, 1, 60_000, (token, index) =>
        app.client.send({
          path: '/profile',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: badPaddingBody(1000 + index),
        }),
      );
      expect(calls.deciphers - before).toBeLessThanOrEqual(MAX_KEY_FAILURES);
      expect(
        results.filter((res) => res.status === 401 && res.text.includes('WX_OPEN_DATA_REJECTED')),
      ).toHaveLength(MAX_KEY_FAILURES);
      // A new login that keeps the spent key gets no new evaluations of it.
      const again = await app.sessions.create(owner);
      const more = await app.client.send({
        path: '/profile',
        headers: { authorization: `Bearer ${again}`, 'content-type': 'application/json' },
        body: badPaddingBody(2000),
      });
      expect(JSON.parse(more.text).code).toBe('WX_SESSION_REQUIRED');
      expect(calls.deciphers - before).toBeLessThanOrEqual(MAX_KEY_FAILURES);
    });
  });
});
