import {
  Controller,
  Get,
  HttpCode,
  Post,
  UseFilters,
  type INestApplication,
  type ModuleMetadata,
} from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import request from 'supertest';
import {
  CacheManagerWxSessionStore,
  RedisWxSessionStore,
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxSession,
  WxSessionStore,
  WxUserInfo,
  WxVerified,
  type WxOpenDataModuleOptions,
  type WxSessionInfo,
} from '../../../lib/index.js';
import { FakeWeChatServer } from '../../../lib/testing/index.js';
import { CapturingLogger } from '../../support/capturing-logger.js';
import { startTestApp, type AdapterName } from '../../support/nest-app.js';
import { APP_ID } from '../../support/payloads.js';
import { dropNamespace, REDIS_URL, testNamespace } from './redis-harness.js';
import { storeConnection, type RedisClientName } from './clients.js';
import { AuthTestRoutes } from '../../support/auth-routes.js';

export const APP_SECRET = 'fleet-suite-app-secret';

/** The routes of an app under test: login, logout, a session-only route, open data, phone by code. */
@Controller()
@UseFilters(WxOpenDataExceptionFilter)
export class FleetController {
  @Get('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo) {
    return session;
  }

  @Post('me/profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() info: WxUserInfo) {
    return info;
  }
}

/** One app instance of the fleet. */
export interface FleetInstance {
  readonly app: INestApplication;
  readonly logger: CapturingLogger;
  readonly store: WxSessionStore;
  http(): ReturnType<typeof request>;
  post(path: string, token: string, body: object): request.Test;
  login(code: string): Promise<string>;
}

/** A fake WeChat and two app instances on one Redis namespace, each with its own connection. */
export interface Fleet {
  readonly wechat: FakeWeChatServer;
  readonly namespace: string;
  readonly a: FleetInstance;
  readonly b: FleetInstance;
  close(): Promise<void>;
}

/** How each instance of a fleet reaches the shared state: its imports, and what to close after its app. */
export interface FleetBackend {
  readonly label: string;
  instance(
    name: 'a' | 'b',
    options: WxOpenDataModuleOptions,
    namespace: string,
  ): { imports: NonNullable<ModuleMetadata['imports']>; close(): Promise<void> };
}

/**
 * Two instances on one Redis through separate connections of `client`: instance A gets a store
 * passed in (`sessionStore: new RedisWxSessionStore(...)`), instance B has the module build one
 * (`redis: {...}`), so both ways of configuring are exercised.
 */
export function redisFleet(client: RedisClientName, url: string): FleetBackend {
  return {
    label: `Redis, ${client}`,
    instance: (name, options, namespace) => {
      const connection = storeConnection(client, { kind: 'single', url });
      if (name === 'b') {
        return {
          imports: [WxOpenDataModule.forRoot({ ...options, redis: { ...connection.options, namespace } })],
          close: () => connection.close(),
        };
      }
      const store = new RedisWxSessionStore({ ...connection.options, namespace });
      return {
        imports: [WxOpenDataModule.forRoot({ ...options, sessionStore: store })],
        // A's store was handed to the module, so it stays A's to close; B's closed with its app.
        close: async () => {
          await store.close();
          await connection.close();
        },
      };
    },
  };
}

/**
 * Two instances, each with the app's own cache (`CacheModule` on a KeyvRedis store, its own
 * connection) and the session store over it, built from `CACHE_MANAGER` in `forRootAsync`.
 */
export function cacheManagerFleet(url: string): FleetBackend {
  return {
    label: 'cache-manager on KeyvRedis',
    instance: (_name, options, namespace) => {
      let store: CacheManagerWxSessionStore | undefined;
      return {
        imports: [
          CacheModule.register({ isGlobal: true, stores: [new KeyvRedis(url)] }),
          WxOpenDataModule.forRootAsync({
            inject: [CACHE_MANAGER],
            useFactory: (cache: Cache) => {
              store = new CacheManagerWxSessionStore(cache, { namespace });
              return { ...options, sessionStore: store };
            },
          }),
        ],
        // Handed to the module, so the test's to close; the cache's client closes with its app.
        close: async () => {
          await store?.close();
        },
      };
    },
  };
}

/** Starts two separate Nest apps sharing one store backend (default: Redis through node-redis). */
export async function startFleet(
  adapter: AdapterName,
  backend: FleetBackend = redisFleet('node-redis', REDIS_URL),
  options: Partial<WxOpenDataModuleOptions> = {},
): Promise<Fleet> {
  const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
  const apiBaseUrl = await wechat.start();
  const namespace = testNamespace('fleet');
  const base = { appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl, ...options };
  const wiringA = backend.instance('a', base, namespace);
  const wiringB = backend.instance('b', base, namespace);
  const a = await startInstance(adapter, wiringA.imports);
  const b = await startInstance(adapter, wiringB.imports);
  return {
    wechat,
    namespace,
    a,
    b,
    close: async () => {
      await a.app.close();
      await b.app.close();
      await wiringA.close();
      await wiringB.close();
      await wechat.stop();
      await dropNamespace(namespace);
    },
  };
}

async function startInstance(
  adapter: AdapterName,
  imports: NonNullable<ModuleMetadata['imports']>,
): Promise<FleetInstance> {
  const logger = new CapturingLogger();
  const app = await startTestApp(
    adapter,
    { imports, controllers: [AuthTestRoutes, FleetController] },
    logger,
  );
  const server = app.getHttpServer();
  const http = (): ReturnType<typeof request> => request(server);
  return {
    app,
    logger,
    store: app.get(WxSessionStore),
    http,
    post: (path, token, body) => http().post(path).set('Authorization', `Bearer ${token}`).send(body),
    login: async (code) => {
      const res = await http().post('/auth/login').send({ code });
      if (res.status !== 200) throw new Error(`login answered ${res.status} ${res.text}`);
      return res.body.token as string;
    },
  };
}
