/**
 * Issue 11 §6: `checkSessionKeyOnFailure` made one WeChat call per failure, so one session's burst
 * spent the app's quota. Now: at most one call per key per window, for every instance sharing
 * the store.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { RedisWxSessionStore, WxOpenDataModule, type WxSessionStore } from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { REDIS_URL, requireRedis, testNamespace } from '../redis/support/redis-harness.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import { OpenDataRoutes } from './support/app.js';

const APP_SECRET = 'check-session-key-secret';

describe('checkSessionKeyOnFailure asks WeChat once per key per window, fleet-wide', () => {
  let wechat: FakeWeChatServer;
  let store: WxSessionStore;
  const apps: INestApplication[] = [];
  const logger = new CapturingLogger();

  beforeAll(async () => {
    await requireRedis();
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    store = new RedisWxSessionStore({
      url: REDIS_URL,
      namespace: testNamespace('check-key'),
      commandTimeoutMs: 5000,
    });
    for (const adapter of ['express', 'fastify'] as const) {
      apps.push(
        await startTestApp(
          adapter,
          {
            imports: [
              WxOpenDataModule.forRoot({
                appId: APP_ID,
                appSecret: APP_SECRET,
                apiBaseUrl,
                sessionStore: store,
                checkSessionKeyOnFailure: true,
                maxKeyFailures: false,
              }),
            ],
            controllers: [AuthTestRoutes, OpenDataRoutes],
          },
          logger,
        ),
      );
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store.close();
    await wechat.stop();
  });

  it('a burst of 40 failures of one key over two instances: one checkSessionKey call', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const login = await request(apps[0]!.getHttpServer())
      .post('/auth/login')
      .send({ code: user.login() })
      .expect(200);
    const token = login.body.token as string;
    const before = wechat.requestCount('/wxa/checksession');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        request(apps[i % 2]!.getHttpServer())
          .post('/profile')
          .set('Authorization', `Bearer ${token}`)
          .send({ ...user.getUserInfo(), signature: '0'.repeat(40) })
          .expect(401),
      ),
    );
    // The diagnosis runs in the background: give it time to (not) make more calls.
    const deadline = Date.now() + 3000;
    while (logger.containing('checkSessionKey:').length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wechat.requestCount('/wxa/checksession') - before).toBe(1);
    expect(logger.containing('checkSessionKey: the session key is valid')).toHaveLength(1);
  });
});
