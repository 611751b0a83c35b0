// The server side of the Redis store benchmark, its own process (`fork`, by redis.bench.mjs), so
// autocannon never shares an event loop with it. A Nest app on 127.0.0.1 with the adapter in
// argv[2] and the store in argv[3] (`memory`, or `redis` on the URL in argv[4] under the namespace
// in argv[5]), every option at its default (replay protection on, 5 key failures):
//   GET  /me       @WxVerified():           the session read (Redis: one round trip)
//   POST /profile  @WxVerified(WxUserInfo): signature, decrypt, watermark, identity, DTO, and the
//                  replay mark (Redis: a second round trip), so every request needs a new payload
// IPC: { type: 'session', openid, unionid, sessionKey } opens a session and answers
// { type: 'session', token }; { type: 'stop' } closes the app (and its Redis connection).
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  MemoryWxSessionStore,
  WxOpenData,
  WxOpenDataModule,
  WxSession,
  WxSessionService,
  WxUserInfo,
  WxVerified,
} from 'nestjs-wx-open-data';
import { decorateMethod } from './decorate.mjs';
import { BENCH_APP_ID } from './fixtures.mjs';

const OK = Object.freeze({ ok: true });

class RedisBenchController {
  me(session) {
    return session?.openid === undefined ? { ok: false } : OK;
  }

  profile(info) {
    return info instanceof WxUserInfo ? OK : { ok: false };
  }
}
const proto = RedisBenchController.prototype;
decorateMethod(proto, 'me', [Get('me'), WxVerified()], [WxSession()]);
decorateMethod(proto, 'profile', [Post('profile'), HttpCode(200), WxVerified(WxUserInfo)], [WxOpenData()]);
Reflect.decorate([Controller()], RedisBenchController);

const [adapterName, storeName, redisUrl, namespace] = process.argv.slice(2);
if (!['express', 'fastify'].includes(adapterName) || !['memory', 'redis'].includes(storeName)) {
  throw new Error('usage: redis-server.mjs express|fastify memory|redis [redisUrl namespace]');
}

const store =
  storeName === 'memory'
    ? { sessionStore: new MemoryWxSessionStore() }
    : // The module builds the store, connects it before listening, and closes it with the app.
      { redis: { url: redisUrl, namespace } };

class RedisBenchModule {}
Reflect.decorate(
  [
    Module({
      imports: [WxOpenDataModule.forRoot({ appId: BENCH_APP_ID, appSecret: 'bench-secret', ...store })],
      controllers: [RedisBenchController],
    }),
  ],
  RedisBenchModule,
);

const app = await NestFactory.create(
  RedisBenchModule,
  adapterName === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
  { logger: false },
);
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address();
const sessions = app.get(WxSessionService);

process.on('message', async (message) => {
  if (message?.type === 'session') {
    const token = await sessions.create({
      openid: message.openid,
      unionid: message.unionid,
      appId: BENCH_APP_ID,
      sessionKey: message.sessionKey,
    });
    process.send({ type: 'session', token });
  } else if (message?.type === 'stop') {
    await app.close();
    process.disconnect();
    process.exit(0);
  }
});
// The parent gone (killed, crashed): never outlive it.
process.on('disconnect', () => process.exit(0));

process.send({ type: 'ready', port, adapter: adapterName, store: storeName });
