import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import { WxApiClient, WxOpenDataModule, type WxOpenDataModuleOptions } from '../../lib/index.js';
import { WxOpenDataHealthIndicator } from '../../lib/terminus/index.js';
import { FakeWeChatServer } from '../../lib/testing/index.js';
import { startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import { pause, RedisServerProcess, requireRedis, testNamespace } from '../redis/support/redis-harness.js';

/**
 * The terminus indicator on a real app: up on a healthy store, down while Redis is stalled
 * (SIGSTOP on a redis-server of the test's own), up again within a second of SIGCONT; and down
 * while a mini program's access token cannot be fetched.
 */
const APP_SECRET = 'health-suite-app-secret';
const COMMAND_TIMEOUT_MS = 150;

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly wx: WxOpenDataHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.wx.isHealthy('wechat')]);
  }
}

@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [WxOpenDataHealthIndicator],
})
class HealthModule {}

async function start(options: WxOpenDataModuleOptions): Promise<INestApplication> {
  return startTestApp('express', {
    imports: [WxOpenDataModule.forRoot({ ...options, isGlobal: true }), HealthModule],
  });
}

describe('WxOpenDataHealthIndicator', () => {
  let wechat: FakeWeChatServer;
  let apiBaseUrl: string;

  beforeAll(async () => {
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    apiBaseUrl = await wechat.start();
  });
  afterAll(async () => {
    await wechat.stop();
  });

  describe('on the memory store', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await start({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl });
    });
    afterAll(async () => {
      await app.close();
    });

    it('is up, with the access token not fetched yet, then fresh once a call fetched it', async () => {
      const before = await request(app.getHttpServer()).get('/health');
      expect(before.status).toBe(200);
      expect(before.body.info.wechat).toEqual({
        status: 'up',
        sessionStore: 'up',
        accessTokens: { [APP_ID]: 'absent' },
      });
      await app.get(WxApiClient).getAccessToken();
      const after = await request(app.getHttpServer()).get('/health');
      expect(after.body.info.wechat.accessTokens).toEqual({ [APP_ID]: 'fresh' });
    });

    it('is down while the access token cannot be fetched and none is held, and says so', async () => {
      // An app of its own: the first app's token is already in its store.
      const fresh = await start({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl });
      try {
        const client = fresh.get(WxApiClient);
        wechat.failNext('/cgi-bin/stable_token', { errcode: 40164 });
        await expect(client.getAccessToken()).rejects.toThrow('40164');
        const res = await request(fresh.getHttpServer()).get('/health');
        expect(res.status).toBe(503);
        expect(res.body.error.wechat).toEqual({
          status: 'down',
          sessionStore: 'up',
          accessTokens: { [APP_ID]: 'failing' },
        });
        // Nothing secret in what a load balancer sees.
        expect(JSON.stringify(res.body)).not.toContain(APP_SECRET);
        await client.getAccessToken();
        expect((await request(fresh.getHttpServer()).get('/health')).status).toBe(200);
      } finally {
        wechat.clearFaults();
        await fresh.close();
      }
    });
  });

  describe('on Redis', () => {
    let redis: RedisServerProcess;
    let app: INestApplication;
    beforeAll(async () => {
      await requireRedis();
      redis = await RedisServerProcess.start();
      app = await start({
        appId: APP_ID,
        appSecret: APP_SECRET,
        apiBaseUrl,
        redis: { url: redis.url, namespace: testNamespace('health'), commandTimeoutMs: COMMAND_TIMEOUT_MS },
      });
    });
    afterAll(async () => {
      redis?.resume();
      await app?.close();
      await redis?.stop();
    });

    it('is down while Redis is stalled and up within a second after it resumes', async () => {
      expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
      redis.stall();
      try {
        const down = await request(app.getHttpServer()).get('/health');
        expect(down.status).toBe(503);
        expect(down.body.error.wechat.sessionStore).toBe('down');
      } finally {
        redis.resume();
      }
      const resumedAt = performance.now();
      let status = 0;
      while (performance.now() - resumedAt < 1000) {
        status = (await request(app.getHttpServer()).get('/health')).status;
        if (status === 200) break;
        await pause(50);
      }
      expect(status).toBe(200);
    });
  });
});
