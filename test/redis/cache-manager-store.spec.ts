import KeyvRedis, { Keyv } from '@keyv/redis';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import { Controller, Get, UseFilters } from '@nestjs/common';
import { createCache, type Cache } from 'cache-manager';
import request from 'supertest';
import {
  CacheManagerWxSessionStore,
  createSessionToken,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxSession,
  WxSessionStore,
  WxVerified,
  type WxCacheManagerCache,
  type WxSessionInfo,
} from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import {
  dropNamespace,
  inspectorClient,
  keysUnder,
  REDIS_URL,
  requireRedis,
  testNamespace,
} from './support/redis-harness.js';

/**
 * The session store over the app's cache: which cache it takes and how (Redis underneath: the
 * Redis store on that client; in-process only: one instance), and the boot errors for the rest.
 * The store contract and the fleet suites run it too.
 */
describe('CacheManagerWxSessionStore', () => {
  beforeAll(async () => {
    await requireRedis();
  });

  it('runs on the Redis under a KeyvRedis tier, with its keys in Redis under the namespace', async () => {
    const namespace = testNamespace('cache-store');
    const adapter = new KeyvRedis(REDIS_URL);
    adapter.on('error', () => undefined);
    // A memory tier in front, as apps often configure: the Redis tier is found all the same.
    const cache = createCache({ stores: [new Keyv(), new Keyv({ store: adapter })] });
    const store = new CacheManagerWxSessionStore(cache, { namespace });
    const inspector = await inspectorClient();
    try {
      expect(store.mode).toBe('redis');
      await store.connect();
      await expect(store.claimPayload('fp-cache', 60)).resolves.toBe(true);
      await expect(store.claimPayload('fp-cache', 60)).resolves.toBe(false);
      expect(await keysUnder(inspector, namespace)).toEqual([`${namespace}:replay:fp-cache`]);
    } finally {
      await store.close();
      inspector.destroy();
      await adapter.disconnect();
      await dropNamespace(namespace);
    }
  });

  it('keeps its entries in an in-process cache: one instance, atomic per key', async () => {
    const cache = createCache({ stores: [new Keyv()] });
    const store = new CacheManagerWxSessionStore(cache);
    expect(store.mode).toBe('memory');
    const results = await Promise.all(Array.from({ length: 100 }, () => store.claimPayload('fp-race', 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
    // The entries are the cache's, readable by the app like any other.
    await expect(cache.get('wx-open-data:replay:fp-race')).resolves.toBe('1');
  });

  it.each([
    ['something that is not a cache', {}, /must be a cache-manager Cache/],
    [
      'a cache on another database (no atomic operation the store can reach)',
      cacheOn({ get: noop, set: noop, delete: noop, clear: noop, on: () => undefined }),
      /offers neither a @keyv\/redis store .* nor only in-process Keyv stores/,
    ],
    ['a cache without any store', { stores: [], get: noop, set: noop, del: noop }, /offers neither/],
  ])('refuses %s when it is built, saying why', (_name, cache, message) => {
    expect(() => new CacheManagerWxSessionStore(cache as WxCacheManagerCache)).toThrow(message);
  });

  it("serves a Nest app from CacheModule's CACHE_MANAGER (in-process cache)", async () => {
    const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: 'cache-suite-secret' }] });
    const apiBaseUrl = await wechat.start();
    @Controller()
    @UseFilters(WxOpenDataExceptionFilter)
    class MeController {
      @Get('me')
      @WxVerified()
      me(@WxSession() session: WxSessionInfo) {
        return session;
      }
    }
    const app = await startTestApp('express', {
      imports: [
        CacheModule.register({ isGlobal: true }),
        WxOpenDataModule.forRootAsync({
          inject: [CACHE_MANAGER],
          useFactory: (cache: Cache) => ({
            appId: APP_ID,
            appSecret: 'cache-suite-secret',
            apiBaseUrl,
            sessionStore: new CacheManagerWxSessionStore(cache),
          }),
        }),
      ],
      controllers: [AuthTestRoutes, MeController],
    });
    try {
      expect(app.get(WxSessionStore)).toBeInstanceOf(CacheManagerWxSessionStore);
      const user = new MiniProgramClient(wechat, { appId: APP_ID });
      const http = () => request(app.getHttpServer());
      const login = await http().post('/auth/login').send({ code: user.login() }).expect(200);
      const me = await http()
        .get('/me')
        .set('Authorization', `Bearer ${login.body.token as string}`);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ openid: user.openid, appId: APP_ID });
      await http().get('/me').set('Authorization', `Bearer ${createSessionToken()}`).expect(401);
    } finally {
      await app.close();
      await wechat.stop();
    }
  });
});

function noop(): Promise<undefined> {
  return Promise.resolve(undefined);
}

/** A cache-manager Cache on a Keyv whose store is some other database's adapter. */
function cacheOn(store: object): Cache {
  return createCache({ stores: [new Keyv({ store })] });
}
