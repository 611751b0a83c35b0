import { Controller, Get, HttpCode, Post, UseFilters, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  RedisWxSessionStore,
  WX_SESSION_STORE_UNAVAILABLE_BODY,
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxSession,
  WxUserInfo,
  WxVerified,
  type WxSessionInfo,
} from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp, type AdapterName } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import { pause, RedisServerProcess, requireRedis, testNamespace } from './support/redis-harness.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { storeConnection, type RedisClientName, type StoreConnection } from './support/clients.js';

/**
 * Failing closed, against a redis-server the test starts on a port of its own (never the
 * machine's Redis): stalled (SIGSTOP) and down (SIGKILL, then restarted on the same port), the
 * guarded routes answer 503 with Retry-After within the command timeout, never let a request
 * through and never send a user back to log in; Redis back, the app recovers by itself.
 */
const APP_SECRET = 'outage-suite-app-secret';
const COMMAND_TIMEOUT_MS = 150;
/** The bound of the issue: 200 ms, plus slack for a loaded test machine. */
const ANSWER_WITHIN_MS = 200 + 150;
const RECOVERY_WITHIN_MS = 5_000;

@Controller()
@UseFilters(WxOpenDataExceptionFilter)
class OutageController {
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

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | undefined;
  body: unknown;
}

/**
 * Each adapter on node-redis (the store's own connection), and ioredis (a client handed over) on
 * one adapter: the failure policy is the store's, the same on both clients.
 */
const CASES: Array<[AdapterName, RedisClientName]> = [
  ...ADAPTERS.map((a): [AdapterName, RedisClientName] => [a, 'node-redis']),
  ['fastify', 'ioredis'],
];

describe.each(CASES)('failing closed when Redis is down or stalled (%s, %s)', (adapter, client) => {
  let redis: RedisServerProcess;
  let connection: StoreConnection;
  let wechat: FakeWeChatServer;
  let app: INestApplication;
  let logger: CapturingLogger;
  let http: () => ReturnType<typeof request>;

  beforeAll(async () => {
    await requireRedis();
    // Persistent (AOF, fsync always): a killed and restarted server keeps what it acknowledged.
    redis = await RedisServerProcess.start({ persistent: true });
    connection = storeConnection(client, { kind: 'single', url: redis.url });
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    logger = new CapturingLogger();
    app = await startTestApp(
      adapter,
      {
        imports: [
          WxOpenDataModule.forRoot({
            appId: APP_ID,
            appSecret: APP_SECRET,
            apiBaseUrl,
            redis: {
              ...connection.options,
              namespace: testNamespace('outage'),
              commandTimeoutMs: COMMAND_TIMEOUT_MS,
            },
          }),
        ],
        controllers: [AuthTestRoutes, OutageController],
      },
      logger,
    );
    const server = app.getHttpServer();
    http = () => request(server);
  });

  afterAll(async () => {
    redis?.resume();
    await app?.close();
    await connection?.close();
    await wechat?.stop();
    await redis?.stop();
  });

  const login = async (user: MiniProgramClient): Promise<string> => {
    const res = await http().post('/auth/login').send({ code: user.login() });
    expect(res.status).toBe(200);
    return res.body.token as string;
  };

  const ask = async (token: string, user?: MiniProgramClient): Promise<Answer> => {
    const started = performance.now();
    const req =
      user === undefined
        ? http().get('/me').set('Authorization', `Bearer ${token}`)
        : http().post('/me/profile').set('Authorization', `Bearer ${token}`).send(user.getUserInfo());
    const res = await req;
    return {
      status: res.status,
      ms: performance.now() - started,
      retryAfter: res.headers['retry-after'] as string | undefined,
      body: res.body,
    };
  };

  const expectRefused = (answers: Answer[]): void => {
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 503,
        ms: expect.any(Number),
        retryAfter: '1',
        body: WX_SESSION_STORE_UNAVAILABLE_BODY,
      });
      expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
    }
  };

  /** Asks every 100 ms until a 200, for at most `withinMs`; every other answer must be a 503. */
  const awaitRecovery = async (token: string, withinMs: number): Promise<number> => {
    const started = performance.now();
    // Bounded: ends at the first 200 or after withinMs.
    while (performance.now() - started < withinMs) {
      const answer = await ask(token);
      if (answer.status === 200) return performance.now() - started;
      expect(answer.status).toBe(503);
      await pause(100);
    }
    throw new Error(`no recovery within ${withinMs} ms`);
  };

  it('serves normally while Redis is up', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    expect((await ask(token)).status).toBe(200);
    expect((await ask(token, user)).status).toBe(200);
  });

  it('stalled (SIGSTOP): 503 + Retry-After within the timeout, nobody passes, no 401; then recovers, sessions intact', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    const other = await login(new MiniProgramClient(wechat, { appId: APP_ID }));
    expect((await ask(token)).status).toBe(200);

    redis.stall();
    try {
      // A burst caught by the stall: each waits at most the command timeout.
      const burst = await Promise.all([
        ...Array.from({ length: 10 }, () => ask(token)),
        ...Array.from({ length: 10 }, () => ask(other, user)),
      ]);
      expectRefused(burst);
      // Then, without piling commands up behind the stalled server, every request fails fast.
      const later: Answer[] = [];
      for (let i = 0; i < 10; i += 1) {
        later.push(await ask(i % 2 ? token : other));
        await pause(50);
      }
      expectRefused(later);
      expect(Math.max(...later.map((a) => a.ms))).toBeLessThan(ANSWER_WITHIN_MS);
      // A login while stalled: 503 too, with Retry-After.
      const loginDuring = await http()
        .post('/auth/login')
        .send({ code: new MiniProgramClient(wechat, { appId: APP_ID }).login() });
      expect(loginDuring.status).toBe(503);
      expect(loginDuring.headers['retry-after']).toBe('1');
      expect(loginDuring.body).toEqual(WX_SESSION_STORE_UNAVAILABLE_BODY);
    } finally {
      redis.resume();
    }

    const recoveredInMs = await awaitRecovery(token, RECOVERY_WITHIN_MS);
    expect(recoveredInMs).toBeLessThan(RECOVERY_WITHIN_MS);
    // Sessions written before the outage are all there.
    expect((await ask(other)).status).toBe(200);
    expect((await ask(token, user)).status).toBe(200);
  });

  it('down (SIGKILL): 503 at once, login refused; restarted on its port: recovers by itself, sessions intact', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    expect((await ask(token)).status).toBe(200);

    await redis.kill();
    try {
      const burst = await Promise.all([
        ...Array.from({ length: 10 }, () => ask(token)),
        ...Array.from({ length: 10 }, () => ask(token, user)),
      ]);
      expectRefused(burst);
      const loginDuring = await http()
        .post('/auth/login')
        .send({ code: new MiniProgramClient(wechat, { appId: APP_ID }).login() });
      expect(loginDuring.status).toBe(503);
      expect(loginDuring.headers['retry-after']).toBe('1');
      // Still down a second later: still refused, still fast.
      await pause(1_000);
      expectRefused([await ask(token), await ask(token, user)]);
    } finally {
      await redis.launch();
    }

    const recoveredInMs = await awaitRecovery(token, RECOVERY_WITHIN_MS);
    expect(recoveredInMs).toBeLessThan(RECOVERY_WITHIN_MS);
    expect((await ask(token, user)).status).toBe(200);
    // And logins work again.
    const fresh = new MiniProgramClient(wechat, { appId: APP_ID });
    expect((await ask(await login(fresh), fresh)).status).toBe(200);
  });

  it('killed and restarted under a sustained, bounded load: nobody passes while down, no 401 or 500, recovery < 5 s, sessions intact', async () => {
    const users = Array.from({ length: 4 }, () => new MiniProgramClient(wechat, { appId: APP_ID }));
    const tokens = await Promise.all(users.map((user) => login(user)));
    interface Timed {
      status: number;
      startedAt: number;
      endedAt: number;
    }
    const answers: Timed[] = [];
    const origin = performance.now();
    const at = (): number => performance.now() - origin;
    let killedAt = Number.POSITIVE_INFINITY;
    let relaunchStartedAt = Number.POSITIVE_INFINITY;
    let stopAt = 9_000; // hard bound of the load, in ms since origin
    const MAX_REQUESTS = 20_000;

    // Six workers, each one request at a time, until stopAt or MAX_REQUESTS: bounded in time and count.
    const load = Promise.all(
      Array.from({ length: 6 }, async (_, worker) => {
        for (let i = 0; at() < stopAt && answers.length < MAX_REQUESTS; i++) {
          const startedAt = at();
          const answer = await ask(tokens[(worker + i) % tokens.length] as string);
          answers.push({ status: answer.status, startedAt, endedAt: at() });
          await pause(5);
        }
      }),
    );
    await pause(1_500);
    await redis.kill();
    killedAt = at();
    await pause(2_000);
    relaunchStartedAt = at();
    await redis.launch();
    // Keep the load on until three seconds after the first success past the relaunch, bounded by stopAt.
    const recovered = async (): Promise<number | undefined> =>
      answers.find((a) => a.status === 200 && a.startedAt > relaunchStartedAt)?.endedAt;
    while (at() < stopAt && (await recovered()) === undefined) await pause(50);
    const firstSuccess = await recovered();
    stopAt = Math.min(stopAt, (firstSuccess ?? stopAt) + 3_000);
    await load;

    expect(answers.length).toBeGreaterThan(50);
    expect(answers.length).toBeLessThan(MAX_REQUESTS);
    // Only 200 and 503, ever: no 401 "session required", no 500.
    expect([...new Set(answers.map((a) => a.status))].sort()).toEqual([200, 503]);
    // While Redis was down, not one request passed the guard.
    const whileDown = answers.filter((a) => a.startedAt >= killedAt && a.endedAt <= relaunchStartedAt);
    expect(whileDown.length).toBeGreaterThan(10);
    expect(whileDown.every((a) => a.status === 503)).toBe(true);
    // Recovery by itself, within 5 s of Redis being started again.
    expect(firstSuccess).toBeDefined();
    expect((firstSuccess as number) - relaunchStartedAt).toBeLessThan(RECOVERY_WITHIN_MS);
    // After recovery everything succeeds, and every session from before the outage is intact.
    const after = answers.filter((a) => a.startedAt > (firstSuccess as number) + 500);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((a) => a.status === 200)).toBe(true);
    for (const token of tokens) expect((await ask(token)).status).toBe(200);
  }, 30_000);

  it('logs the outage without flooding: at most about one line a second', () => {
    const outageLines = logger.containing('SESSION_STORE_UNAVAILABLE');
    expect(outageLines.length).toBeGreaterThan(0);
    // Some 60 requests were refused over a few seconds.
    expect(outageLines.length).toBeLessThan(20);
  });
});

describe('a Redis that is down at start-up', () => {
  it('does not stop the app: 503 until Redis comes up, then it serves by itself', async () => {
    await requireRedis();
    const redis = await RedisServerProcess.start();
    await redis.kill();
    const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    const store = new RedisWxSessionStore({
      url: redis.url,
      namespace: testNamespace('boot'),
      connectTimeoutMs: 300,
    });
    const logger = new CapturingLogger();
    const app = await startTestApp(
      'express',
      {
        imports: [
          WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl, sessionStore: store }),
        ],
        controllers: [AuthTestRoutes, OutageController],
      },
      logger,
    );
    try {
      expect(logger.containing('session store not reachable at start-up')).toHaveLength(1);
      const down = await request(app.getHttpServer())
        .post('/auth/login')
        .send({ code: new MiniProgramClient(wechat, { appId: APP_ID }).login() });
      expect(down.status).toBe(503);
      await redis.launch();
      const user = new MiniProgramClient(wechat, { appId: APP_ID });
      const started = performance.now();
      let status = 0;
      // Bounded: at most 50 tries, 100 ms apart.
      for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
        status = (await request(app.getHttpServer()).post('/auth/login').send({ code: user.login() })).status;
        if (status !== 200) await pause(100);
      }
      expect(status).toBe(200);
      expect(performance.now() - started).toBeLessThan(RECOVERY_WITHIN_MS);
    } finally {
      await app.close();
      await store.close();
      await wechat.stop();
      await redis.stop();
    }
  });
});
