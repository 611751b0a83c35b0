import { Controller, Get, Injectable, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  MemoryWxSessionStore,
  WxOpenDataConfigError,
  WxOpenDataModule,
  WxSession,
  WxSessionService,
  WxSessionStore,
  WxVerified,
  WxVerifiedGuard,
  type WxCallSite,
  type WxOpenDataModuleOptions,
  type WxOpenDataOptionsFactory,
  type WxSessionInfo,
} from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import { ADAPTERS, startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';

@Controller()
class MeController {
  @Get('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo) {
    return session;
  }
}

/** Opens a session through the app's own service and asks for `/me` with it. */
async function roundTrip(
  app: INestApplication,
  header = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` }),
): Promise<request.Response> {
  const token = await app
    .get(WxSessionService)
    .create({ openid: 'o-module-user', sessionKey: createSessionKey() });
  return request(app.getHttpServer()).get('/me').set(header(token));
}

describe.each(ADAPTERS)('WxOpenDataModule (%s)', (adapter) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('forRoot serves a guarded route with the default memory store', async () => {
    app = await startTestApp(adapter, {
      imports: [WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: 'secret' })],
      controllers: [MeController],
    });
    expect(app.get(WxSessionStore)).toBeInstanceOf(MemoryWxSessionStore);
    const res = await roundTrip(app);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ openid: 'o-module-user', appId: APP_ID });
  });

  it('forRootAsync with @nestjs/config registerAs and ConfigService', async () => {
    const wxConfig = registerAs('wx', () => ({
      appId: APP_ID,
      appSecret: 'from-env',
      sessionTtlSeconds: 120,
    }));
    app = await startTestApp(adapter, {
      imports: [
        ConfigModule.forRoot({ load: [wxConfig], ignoreEnvFile: true }),
        WxOpenDataModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService): WxOpenDataModuleOptions => config.getOrThrow('wx'),
        }),
      ],
      controllers: [MeController],
    });
    expect((await roundTrip(app)).status).toBe(200);
  });

  it('forRootAsync with useClass, a custom store and a custom token reader', async () => {
    const store = new MemoryWxSessionStore({ maxEntries: 10 });
    @Injectable()
    class WxOptions implements WxOpenDataOptionsFactory {
      createWxOpenDataOptions(): WxOpenDataModuleOptions {
        return {
          appId: APP_ID,
          appSecret: 'secret',
          sessionStore: store,
          getSessionToken: (req) => {
            const value = req.headers['x-session'];
            return typeof value === 'string' ? value : undefined;
          },
        };
      }
    }
    app = await startTestApp(adapter, {
      imports: [WxOpenDataModule.forRootAsync({ useClass: WxOptions })],
      controllers: [MeController],
    });
    expect(app.get(WxSessionStore)).toBe(store);
    expect((await roundTrip(app, (token) => ({ 'X-Session': token }))).status).toBe(200);
    // One session record and the user's keys.
    expect(store.size).toBe(2);
    expect((await roundTrip(app)).status).toBe(401);
  });

  it('isGlobal lets a feature module use @WxVerified without importing the module', async () => {
    @Module({ controllers: [MeController] })
    class FeatureModule {}
    app = await startTestApp(adapter, {
      imports: [
        WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: 'secret', isGlobal: true }),
        FeatureModule,
      ],
    });
    expect((await roundTrip(app)).status).toBe(200);
  });

  it('a guard subclass can override the protected hooks', async () => {
    @Injectable()
    class QueryTokenGuard extends WxVerifiedGuard {
      protected override getSessionToken(site: WxCallSite) {
        const token = (site.holder as { query?: Record<string, unknown> }).query?.['token'];
        return typeof token === 'string' ? token : undefined;
      }
    }
    @Controller()
    class QueryController {
      @Get('query')
      @UseGuards(QueryTokenGuard)
      me(@WxSession() session: WxSessionInfo) {
        return session;
      }
    }
    app = await startTestApp(adapter, {
      imports: [WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: 'secret' })],
      controllers: [QueryController],
    });
    const token = await app
      .get(WxSessionService)
      .create({ openid: 'o-hook', sessionKey: createSessionKey() });
    const ok = await request(app.getHttpServer()).get('/query').query({ token });
    expect(ok.status).toBe(200);
    expect(ok.body.openid).toBe('o-hook');
    const refused = await request(app.getHttpServer()).get('/query').set('Authorization', `Bearer ${token}`);
    expect(refused.status).toBe(401);
  });
});

describe('WxOpenDataModule options are validated at boot', () => {
  const boot = (options: WxOpenDataModuleOptions) =>
    Test.createTestingModule({ imports: [WxOpenDataModule.forRoot(options)] }).compile();

  it.each<[string, WxOpenDataModuleOptions, RegExp]>([
    ['a missing appId', {}, /appId is required/],
    ['a missing appSecret', { appId: APP_ID }, /appSecret must be a non-empty string/],
    ['a malformed appId', { appId: 'not-an-app' }, /appId must be a mini program AppID/],
    ['an empty appSecret', { appId: APP_ID, appSecret: '' }, /appSecret must be a non-empty string/],
    [
      'a duplicated app',
      {
        apps: [
          { appId: APP_ID, appSecret: 'a' },
          { appId: APP_ID, appSecret: 'b' },
        ],
      },
      /configured twice/,
    ],
    [
      'a bad apiBaseUrl',
      { appId: APP_ID, appSecret: 's', apiBaseUrl: 'ftp://x' },
      /apiBaseUrl must be an http\(s\) URL/,
    ],
    [
      'a zero TTL',
      { appId: APP_ID, appSecret: 's', sessionTtlSeconds: 0 },
      /sessionTtlSeconds must be a positive integer/,
    ],
    [
      'a negative watermark age',
      { appId: APP_ID, appSecret: 's', watermarkMaxAgeSeconds: -1 },
      /watermarkMaxAgeSeconds/,
    ],
    [
      'a zero answer floor',
      { appId: APP_ID, appSecret: 's', keyFailureFloorMs: 0 },
      /keyFailureFloorMs must be a number of milliseconds above 0 and at most 1000/,
    ],
    [
      'an answer floor of minutes',
      { appId: APP_ID, appSecret: 's', keyFailureFloorMs: 120_000 },
      /keyFailureFloorMs must be/,
    ],
    [
      'an answer floor that is not a number',
      { appId: APP_ID, appSecret: 's', keyFailureFloorMs: Number.NaN },
      /keyFailureFloorMs must be/,
    ],
    [
      'a store of the wrong kind',
      { appId: APP_ID, appSecret: 's', sessionStore: {} as WxSessionStore },
      /sessionStore must extend/,
    ],
  ])('%s is a boot error with a clear message', async (_name, options, message) => {
    const failure = boot(options);
    await expect(failure).rejects.toBeInstanceOf(WxOpenDataConfigError);
    await expect(failure).rejects.toThrow(message);
  });

  it('reports every problem at once and never echoes a secret', async () => {
    const failure = boot({ apps: [{ appId: 'bad', appSecret: 'top-secret-value' }], sessionTtlSeconds: -5 });
    await expect(failure).rejects.toThrow(/appId must be[\s\S]*sessionTtlSeconds must be/);
    await failure.catch((error: Error) => expect(error.message).not.toContain('top-secret-value'));
  });
});
