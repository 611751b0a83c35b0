import KeyvRedis, { createClient, Keyv } from '@keyv/redis';
import { Redis } from 'ioredis';
import {
  createSessionToken,
  keyBudgetId,
  RedisWxSessionStore,
  WxSessionStoreUnavailableError,
  WxOpenDataConfigError,
  wxUserId,
  type WxSessionRecord,
} from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import { captureError } from '../support/capture-error.js';
import {
  dropNamespace,
  freePort,
  inspectorClient,
  keysUnder,
  REDIS_URL,
  requireRedis,
  testNamespace,
} from './support/redis-harness.js';

const APP = 'wx0123456789abcdef';

function record(openid: string): WxSessionRecord {
  return { openid, appId: APP, createdAt: 1_700_000_000_000 };
}

describe('RedisWxSessionStore', () => {
  const namespace = testNamespace('store');
  let store: RedisWxSessionStore;
  let inspector: Awaited<ReturnType<typeof inspectorClient>>;

  beforeAll(async () => {
    await requireRedis();
    store = new RedisWxSessionStore({ url: REDIS_URL, namespace });
    await store.connect();
    inspector = await inspectorClient();
  });

  afterAll(async () => {
    await store?.close();
    inspector?.destroy();
    await dropNamespace(namespace);
  });

  describe('key layout', () => {
    it('keeps every key under the namespace, secrets in values only, values as JSON with TTLs in Redis', async () => {
      const token = createSessionToken();
      const openid = 'o-layout-user';
      const sessionKey = createSessionKey();
      const accessToken = `AT-${createSessionToken()}`;
      await store.setUserKeys(wxUserId(APP, openid), { sessionKey, version: 1 }, null, 600);
      await store.set(token, record(openid), 600);
      await store.takeKeyAttempt(keyBudgetId(APP, openid, sessionKey), 5, 600);
      await store.claimPayload('fingerprint-layout', 300);
      await store.writeAccessToken(APP, {
        accessToken,
        expiresAt: Date.now() + 7_200_000,
        refreshAt: Date.now() + 6_900_000,
      });

      const keys = await keysUnder(inspector, namespace);
      expect(keys).toHaveLength(5);
      expect(keys).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^${namespace}:session:\\{[A-Za-z0-9_-]{43}\\}$`)),
          `${namespace}:key-budget:{${keyBudgetId(APP, openid, sessionKey)}}`,
          `${namespace}:user:${APP}:${openid}`,
          `${namespace}:replay:fingerprint-layout`,
          `${namespace}:access-token:{${APP}}`,
        ]),
      );
      for (const key of keys) {
        expect(key).not.toContain(token);
        expect(key).not.toContain(sessionKey);
        expect(key).not.toContain(accessToken);
      }
      const sessionRedisKey = keys.find((key) => key.includes(':session:')) as string;
      expect(JSON.parse((await inspector.get(sessionRedisKey)) as string)).toEqual(record(openid));
      expect(JSON.parse((await inspector.get(`${namespace}:user:${APP}:${openid}`)) as string)).toEqual({
        sessionKey,
        version: 1,
      });
      const ttl = await inspector.pTTL(sessionRedisKey);
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
      expect(await inspector.pTTL(`${namespace}:replay:fingerprint-layout`)).toBeGreaterThan(290_000);
      expect(await inspector.pTTL(`${namespace}:access-token:{${APP}}`)).toBeGreaterThan(7_100_000);
    });

    it('keeps namespaces apart', async () => {
      const elsewhere = new RedisWxSessionStore({ url: REDIS_URL, namespace: `${namespace}-other` });
      try {
        await elsewhere.connect();
        const token = createSessionToken();
        await store.set(token, record('o-ns'), 60);
        await expect(elsewhere.get(token)).resolves.toBeUndefined();
      } finally {
        await elsewhere.close();
        await dropNamespace(`${namespace}-other`);
      }
    });

    it('treats an unreadable value as absent, never as a session', async () => {
      const token = createSessionToken();
      await store.set(token, record('o-corrupt'), 60);
      const [key] = (await keysUnder(inspector, namespace)).filter((k) => k.includes(':session:'));
      const keysBefore = await keysUnder(inspector, namespace);
      for (const sessionKey of keysBefore.filter((k) => k.includes(':session:'))) {
        await inspector.set(sessionKey, 'not json');
      }
      expect(key).toBeDefined();
      await expect(store.get(token)).resolves.toBeUndefined();
      await expect(store.getSessionWithKeys(token)).resolves.toBeUndefined();
    });
  });

  it('reloads its scripts when Redis lost them (SCRIPT FLUSH, a restart, a failover)', async () => {
    const user = wxUserId(APP, 'o-noscript');
    await expect(
      store.setUserKeys(user, { sessionKey: createSessionKey(), version: 1 }, null, 60),
    ).resolves.toBe(true);
    await inspector.scriptFlush();
    await expect(
      store.setUserKeys(user, { sessionKey: createSessionKey(), version: 2 }, 1, 60),
    ).resolves.toBe(true);
    const token = createSessionToken();
    await store.set(token, record('o-noscript'), 60);
    await inspector.scriptFlush();
    await expect(store.getSessionWithKeys(token)).resolves.toEqual(
      expect.objectContaining({ keys: expect.objectContaining({ version: 2 }) }),
    );
  });

  describe('connections', () => {
    it('uses your node-redis client, connecting it if needed, and leaves it open on close', async () => {
      const client = createClient({ url: REDIS_URL });
      client.on('error', () => undefined);
      const borrowed = new RedisWxSessionStore({ client, namespace });
      await borrowed.connect();
      expect(client.isReady).toBe(true);
      const token = createSessionToken();
      await borrowed.set(token, record('o-borrowed'), 60);
      await expect(store.get(token)).resolves.toEqual(record('o-borrowed'));
      await borrowed.close();
      expect(client.isOpen).toBe(true);
      await expect(client.ping()).resolves.toBe('PONG');
      await expect(borrowed.get(token)).rejects.toThrow(WxSessionStoreUnavailableError);
      client.destroy();
    });

    it('uses your Keyv on @keyv/redis, or the KeyvRedis store itself, and leaves it open', async () => {
      const adapter = new KeyvRedis(REDIS_URL);
      adapter.on('error', () => undefined);
      const keyv = new Keyv({ store: adapter });
      for (const given of [keyv, adapter]) {
        const borrowed = new RedisWxSessionStore({ keyv: given, namespace });
        await borrowed.connect();
        const token = createSessionToken();
        await borrowed.set(token, record('o-keyv'), 60);
        await expect(store.get(token)).resolves.toEqual(record('o-keyv'));
        await borrowed.close();
        expect(adapter.client.isOpen).toBe(true);
      }
      await adapter.disconnect();
    });

    it('uses your ioredis client, connecting it if needed, and leaves it open on close', async () => {
      const client = new Redis(REDIS_URL, { lazyConnect: true });
      client.on('error', () => undefined);
      const borrowed = new RedisWxSessionStore({ client, namespace });
      await borrowed.connect();
      expect(client.status).toBe('ready');
      const token = createSessionToken();
      await borrowed.set(token, record('o-ioredis'), 60);
      await expect(store.get(token)).resolves.toEqual(record('o-ioredis'));
      await borrowed.close();
      await expect(client.ping()).resolves.toBe('PONG');
      await expect(borrowed.get(token)).rejects.toThrow(WxSessionStoreUnavailableError);
      client.disconnect();
    });

    it('tells the libraries apart by what they offer, not by class names', async () => {
      // An ioredis client whose class was renamed (a bundler, a wrapper) is still ioredis.
      class RenamedClient extends Redis {}
      Object.defineProperty(RenamedClient, 'name', { value: 'RedisClient' });
      const client = new RenamedClient(REDIS_URL, { lazyConnect: true });
      client.on('error', () => undefined);
      const borrowed = new RedisWxSessionStore({ client, namespace });
      await borrowed.connect();
      await expect(borrowed.claimPayload(`fp-${createSessionToken()}`, 60)).resolves.toBe(true);
      await borrowed.close();
      client.disconnect();
    });

    it.each([
      ['an object that is neither library', {}, /neither a node-redis connection .* nor an ioredis one/],
      [
        'a node-redis client without EVALSHA',
        { isOpen: false, connect: () => undefined, get: () => undefined, on: () => undefined },
        /the node-redis client lacks evalSha, eval, set, del, off: .*Lua scripts \(EVALSHA, EVAL\)/,
      ],
      [
        'an ioredis client without EVAL',
        { status: 'wait', evalsha: () => undefined, get: () => undefined, set: () => undefined },
        /the ioredis client lacks eval, del, connect, on, off: /,
      ],
      ['a Keyv handed over as a client', new Keyv(), /neither a node-redis connection/],
    ])('refuses %s at construction, saying which and why', (_name, client, message) => {
      expect(() => new RedisWxSessionStore({ client: client as never, namespace })).toThrow(message);
    });

    it('refuses a Keyv that is not on Redis', () => {
      expect(() => new RedisWxSessionStore({ keyv: new Keyv(), namespace })).toThrow(/@keyv\/redis/);
    });

    it('closes the connection it opened from a URL, and fails every operation afterwards', async () => {
      const own = new RedisWxSessionStore({ url: REDIS_URL, namespace });
      await own.connect();
      const before = Number((await inspector.sendCommand(['CLIENT', 'LIST'])).toString().split('\n').length);
      await own.close();
      await expect(own.get(createSessionToken())).rejects.toMatchObject({
        code: 'SESSION_STORE_UNAVAILABLE',
        reason: 'closed',
      });
      // Give the server a moment to drop the connection from its list.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = Number((await inspector.sendCommand(['CLIENT', 'LIST'])).toString().split('\n').length);
      expect(after).toBeLessThan(before);
    });

    it('refuses, never answers "absent", when Redis cannot be reached; no password in any message', async () => {
      const port = await freePort();
      const unreachable = new RedisWxSessionStore({
        url: `redis://:pw-never-shown@127.0.0.1:${port}`,
        namespace,
        connectTimeoutMs: 300,
      });
      try {
        const started = Date.now();
        const connectError = await unreachable.connect().then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(connectError).toBeInstanceOf(WxSessionStoreUnavailableError);
        const errors = await Promise.all([
          unreachable.get(createSessionToken()).catch((error: unknown) => error),
          unreachable.getSessionWithKeys(createSessionToken()).catch((error: unknown) => error),
          unreachable.claimPayload('fp', 60).catch((error: unknown) => error),
          unreachable.readAccessToken(APP).catch((error: unknown) => error),
        ]);
        for (const error of [connectError, ...errors]) {
          expect(error).toBeInstanceOf(WxSessionStoreUnavailableError);
          expect(String((error as Error).message)).not.toContain('pw-never-shown');
          expect(String((error as Error).stack)).not.toContain('pw-never-shown');
        }
        expect(unreachable.isAvailable).toBe(false);
      } finally {
        await unreachable.close();
      }
    });
  });

  describe('options', () => {
    it.each([
      ['no connection at all', {}],
      ['two connections', { url: REDIS_URL, keyv: new Keyv() }],
      ['a URL that is not redis://', { url: 'http://127.0.0.1:6379' }],
      ['a namespace with a space', { url: REDIS_URL, namespace: 'has space' }],
      ['a namespace with braces', { url: REDIS_URL, namespace: '{tag}' }],
      ['a command timeout of 0', { url: REDIS_URL, commandTimeoutMs: 0 }],
      ['a fractional command timeout', { url: REDIS_URL, commandTimeoutMs: 1.5 }],
      ['a Retry-After of 0', { url: REDIS_URL, retryAfterSeconds: 0 }],
      ['a probe interval of 1 ms', { url: REDIS_URL, probeIntervalMs: 1 }],
      ['a client that is not one', { client: {} as never }],
    ])('refuses %s, without quoting values', (_name, options) => {
      expect(() => new RedisWxSessionStore(options)).toThrow(WxOpenDataConfigError);
      expect(() => new RedisWxSessionStore(options)).toThrow(/^Invalid RedisWxSessionStore options:/);
    });

    it('reports every bad option at once, before any connection is opened', () => {
      const caught = captureError(
        () =>
          new RedisWxSessionStore({
            url: 'http://user:pw-never-shown@127.0.0.1:6379',
            namespace: 'has space',
            commandTimeoutMs: 0,
            retryAfterSeconds: 0,
            encryption: { keys: [] },
          }),
      );
      expect(caught).toBeInstanceOf(WxOpenDataConfigError);
      expect((caught as WxOpenDataConfigError).problems).toEqual([
        'url must be a redis:// or rediss:// URL',
        'namespace must be 1-64 letters, digits or _ - . :',
        'commandTimeoutMs must be an integer from 1 to 60000',
        'retryAfterSeconds must be an integer from 1 to 3600',
        'encryption.keys must list at least one key',
      ]);
      expect((caught as Error).message).not.toContain('pw-never-shown');
    });

    it('never quotes the URL (it may carry a password) in an option error', () => {
      expect(
        () => new RedisWxSessionStore({ url: 'redis://:pw-secret@host', namespace: 'bad space' }),
      ).toThrow(expect.objectContaining({ message: expect.not.stringContaining('pw-secret') }));
    });
  });
});
