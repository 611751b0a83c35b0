import { createConnection, type AddressInfo, type Socket } from 'node:net';
import { Controller, Get, UseFilters, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  createSessionToken,
  RedisWxSessionStore,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxSession,
  WxSessionStore,
  WxVerified,
  type WxSessionInfo,
} from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { ADAPTERS, startTestApp, type AdapterName } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { RedisServerProcess, requireRedis, testNamespace } from './support/redis-harness.js';

/**
 * Issue 11 §6: the circuit must not open on a healthy Redis under load. A burst of anonymous
 * requests with random well-formed tokens keeps this process's event loop busy far longer than
 * the command timeout; every lookup still gets its answer from Redis, so every request must be
 * a 401, not a 503, and the store must stay up for the next legitimate request. (A stalled Redis
 * still answering 503 within the timeout is the outage suite's.)
 */
const APP_SECRET = 'burst-suite-app-secret';
const BURST = 2_000;

@Controller()
@UseFilters(WxOpenDataExceptionFilter)
class BurstController {
  @Get('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo) {
    return session;
  }
}

/**
 * Opens `count` sockets first, then writes one GET /me with a random well-formed token on every
 * one of them at once (the audit's "already-open sockets"), and counts the answers by status.
 */
async function burst(port: number, count: number): Promise<Map<number | string, number>> {
  const statuses = new Map<number | string, number>();
  const count1 = (key: number | string): void => {
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  };
  const sockets: Socket[] = [];
  // Connected 200 at a time, so the listen backlog never overflows; then all written at once.
  while (sockets.length < count) {
    const batch = Math.min(200, count - sockets.length);
    sockets.push(
      ...(await Promise.all(
        Array.from(
          { length: batch },
          () =>
            new Promise<Socket>((resolve, reject) => {
              const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
              socket.once('error', reject);
            }),
        ),
      )),
    );
  }
  const answers = sockets.map(
    (socket) =>
      new Promise<void>((resolve) => {
        let head = '';
        let counted = false;
        const settle = (key: number | string): void => {
          if (!counted) count1(key);
          counted = true;
          socket.destroy();
          resolve();
        };
        socket.setTimeout(30_000, () => settle('no answer within 30 s'));
        socket.on('data', (chunk: Buffer) => {
          head += chunk.toString('latin1');
          const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
          if (status) settle(Number(status[1]));
        });
        socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
        socket.on('close', () => settle('closed without an answer'));
      }),
  );
  for (const socket of sockets) {
    socket.write(
      `GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${createSessionToken()}\r\n` +
        'Connection: close\r\n\r\n',
    );
  }
  await Promise.all(answers);
  return statuses;
}

describe.each(ADAPTERS)('a healthy Redis under a burst (%s)', (adapter: AdapterName) => {
  let redis: RedisServerProcess;
  let wechat: FakeWeChatServer;
  let app: INestApplication;

  beforeAll(async () => {
    await requireRedis();
    redis = await RedisServerProcess.start();
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    app = await startTestApp(adapter, {
      imports: [
        WxOpenDataModule.forRoot({
          appId: APP_ID,
          appSecret: APP_SECRET,
          apiBaseUrl,
          // The default command timeout (150 ms): the burst outlasts it many times over.
          redis: { url: redis.url, namespace: testNamespace('burst') },
        }),
      ],
      controllers: [AuthTestRoutes, BurstController],
    });
  });

  afterAll(async () => {
    await app?.close();
    await wechat?.stop();
    await redis?.stop();
  });

  it(`answers ${BURST} concurrent anonymous requests 401, none 503, and stays up`, async () => {
    const http = () => request(app.getHttpServer());
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const login = await http().post('/auth/login').send({ code: user.login() });
    expect(login.status).toBe(200);
    const token = login.body.token as string;

    const { port } = app.getHttpServer().address() as AddressInfo;
    const statuses = await burst(port, BURST);

    expect(Object.fromEntries(statuses)).toEqual({ 401: BURST });
    expect((app.get(WxSessionStore) as RedisWxSessionStore).isAvailable).toBe(true);
    // The next legitimate request is served.
    const me = await http().get('/me').set('Authorization', `Bearer ${token}`);
    expect(me.status).toBe(200);
  }, 60_000);
});
