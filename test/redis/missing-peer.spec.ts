import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import {
  WxOpenDataConfigError,
  WxOpenDataModule,
  WxSessionStoreUnavailableError,
  type WxRedisOptions,
} from '../../lib/index.js';
import { RedisWxSessionStore, type RedisWxSessionStoreOptions } from '../../lib/entries/redis.js';
import { WxMissingPeerError } from '../../lib/entries/core.js';
import { redisPeerLoader } from '../../lib/stores/redis/connection.js';
import { countingListener } from '../support/counting-listener.js';
import { APP_ID } from '../support/payloads.js';
import { freePort, redisCommand, REDIS_PORT, requireRedis } from './support/redis-harness.js';

// Type-level: every option object of the `/redis` store is one the module's peer-free `redis`
// option takes (the root types never need keyv or @keyv/redis, yet nothing an app wrote breaks).
const storeOptions: RedisWxSessionStoreOptions = { url: 'redis://127.0.0.1:6379' };
const asModuleOption: WxRedisOptions = storeOptions;
void asModuleOption;

/** Resolved from a folder with no node_modules above it: Node's real "not found" error. */
const nowhere = createRequire(join(tmpdir(), 'wx-open-data-no-packages', 'index.js'));
const realLoader = redisPeerLoader.keyvRedis;

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('RedisWxSessionStore without its optional peers', () => {
  afterEach(() => {
    redisPeerLoader.keyvRedis = realLoader;
  });

  it('@keyv/redis not installed: connect() fails with the package and the npm install line, no connection opened', async () => {
    await requireRedis();
    // Redis itself answers: whatever the store says next must not blame it.
    expect(await redisCommand(REDIS_PORT, 'PING')).toBe('+PONG');
    redisPeerLoader.keyvRedis = async () => nowhere('@keyv/redis') as never;
    const listener = await countingListener();
    const store = new RedisWxSessionStore({ url: listener.url });
    try {
      const error = await failureOf(store.connect());
      expect(error).toBeInstanceOf(WxMissingPeerError);
      expect(error).toBeInstanceOf(WxOpenDataConfigError);
      expect(error).not.toBeInstanceOf(WxSessionStoreUnavailableError);
      const missing = error as WxMissingPeerError;
      expect(missing.code).toBe('CONFIG_INVALID');
      expect(missing.packages).toEqual(['@keyv/redis']);
      expect(missing.installCommand).toBe('npm install keyv @keyv/redis');
      expect(missing.problems).toEqual([
        'RedisWxSessionStore with url or redisOptions needs the optional peer dependency @keyv/redis: npm install keyv @keyv/redis',
      ]);
      expect(missing.message).toBe(`Invalid RedisWxSessionStore setup:\n- ${missing.problems[0]}`);
      expect(missing.message).not.toMatch(/unreachable|unavailable/);
      // Every operation says the same, not "session store unavailable (unreachable)".
      await expect(store.get('token')).rejects.toBe(error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(listener.connections()).toBe(0);
    } finally {
      await store.close();
      await listener.close();
    }
  });

  it('keyv not installed (the import of @keyv/redis fails on it): names keyv', async () => {
    redisPeerLoader.keyvRedis = async () => nowhere('keyv') as never;
    const store = new RedisWxSessionStore({ url: 'redis://127.0.0.1:6379' });
    try {
      const error = (await failureOf(store.connect())) as WxMissingPeerError;
      expect(error).toBeInstanceOf(WxMissingPeerError);
      expect(error.packages).toEqual(['keyv']);
      expect(error.message).toContain('npm install keyv @keyv/redis');
    } finally {
      await store.close();
    }
  });

  it('a peer that is installed but does not load (one of its own dependencies missing) is not called missing', async () => {
    redisPeerLoader.keyvRedis = async () => nowhere('@redis/client') as never;
    const store = new RedisWxSessionStore({ url: 'redis://127.0.0.1:6379' });
    try {
      const error = (await failureOf(store.connect())) as WxOpenDataConfigError;
      expect(error).toBeInstanceOf(WxOpenDataConfigError);
      expect(error).not.toBeInstanceOf(WxMissingPeerError);
      expect(error.problems).toEqual([
        '@keyv/redis is installed but does not load (Error): reinstall it (npm install keyv @keyv/redis)',
      ]);
    } finally {
      await store.close();
    }
  });

  it('a Redis that does not answer, with the peers installed, stays an outage, never a missing peer', async () => {
    const port = await freePort();
    const store = new RedisWxSessionStore({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 200 });
    try {
      const error = (await failureOf(store.connect())) as WxSessionStoreUnavailableError;
      expect(error).toBeInstanceOf(WxSessionStoreUnavailableError);
      expect(error.reason).toBe('unreachable');
    } finally {
      await store.close();
    }
  });

  it('a store handed to the module stops the boot with the same error, instead of a warning and 503s', async () => {
    redisPeerLoader.keyvRedis = async () => nowhere('@keyv/redis') as never;
    const store = new RedisWxSessionStore({ url: 'redis://127.0.0.1:6379' });
    const moduleRef = await Test.createTestingModule({
      imports: [WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: 's', sessionStore: store })],
    }).compile();
    try {
      const error = await failureOf(moduleRef.init());
      expect(error).toBeInstanceOf(WxMissingPeerError);
      expect((error as WxMissingPeerError).installCommand).toBe('npm install keyv @keyv/redis');
    } finally {
      await store.close();
      await moduleRef.close().catch(() => undefined);
    }
  });
});
