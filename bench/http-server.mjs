// The server side of the HTTP benchmark, run as its own process (`fork`, by http.bench.mjs) so the
// load generator never shares an event loop with it. A Nest app on 127.0.0.1, on the adapter named
// in argv[2], with three routes that take the same JSON body and answer the same `{ "ok": true }`:
//   POST /bare          no guard, no interceptor: what the framework alone costs
//   POST /verified      @WxVerified(): session, signature, decrypt, watermark, identity
//   POST /verified-dto  @WxVerified(WxUserInfo): the same plus the DTO transform and validation
//   POST /noop          reference: an async guard and an interceptor that do nothing, to show
//                       what Nest's guard + interceptor pipeline costs (ours is one guard now)
// The module runs with its real defaults: replayProtection true, memory store, maxKeyFailures 5.
// IPC: it sends { type: 'ready', port, config }; on { type: 'session', session } it opens a session
// for `session` (openid, unionid, appId, sessionKey) and answers { type: 'session', token }; on
// { type: 'breakdown', token, bodies } it times each stage of one verified request in this process
// and answers { type: 'breakdown', us }; on { type: 'stop' } it closes.
import 'reflect-metadata';
import {
  Body,
  Controller,
  HttpCode,
  Injectable,
  Module,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  MemoryWxSessionStore,
  WxOpenData,
  WxOpenDataModule,
  WxSessionService,
  WxSessionStore,
  WxUserInfo,
  WxVerified,
} from 'nestjs-wx-open-data';
import {
  checkOpenDataIdentity,
  decryptOpenData,
  readEncryptedEnvelope,
  readSignedRawData,
  toOpenDataPayload,
  verifySignature,
} from 'nestjs-wx-open-data/core';
// Internal, not exports of the package: the bench reports the options the build resolved, and
// times the guard's stages one by one.
import { WX_OPEN_DATA_CONFIG } from '../dist/esm/nest/config.js';
import { openDataFingerprint } from '../dist/esm/session/replay.js';
import { keyBudgetId } from '../dist/esm/session/session.js';
import { decorateMethod } from './decorate.mjs';
import { BENCH_APP_ID } from './fixtures.mjs';

const APP_ID = BENCH_APP_ID;
const OK = Object.freeze({ ok: true });

class NoopGuard {
  async canActivate() {
    return true;
  }
}
Reflect.decorate([Injectable()], NoopGuard);

class NoopInterceptor {
  intercept(_context, next) {
    return next.handle();
  }
}
Reflect.decorate([Injectable()], NoopInterceptor);

class BenchController {
  bare(body) {
    return typeof body === 'object' && body !== null ? OK : { ok: false };
  }

  verified(data) {
    return typeof data === 'object' && data !== null ? OK : { ok: false };
  }

  verifiedDto(data) {
    return data instanceof WxUserInfo ? OK : { ok: false };
  }

  noop(body) {
    return typeof body === 'object' && body !== null ? OK : { ok: false };
  }
}
const proto = BenchController.prototype;
decorateMethod(proto, 'bare', [Post('bare'), HttpCode(200)], [Body()]);
decorateMethod(proto, 'verified', [Post('verified'), HttpCode(200), WxVerified()], [WxOpenData()]);
decorateMethod(
  proto,
  'verifiedDto',
  [Post('verified-dto'), HttpCode(200), WxVerified(WxUserInfo)],
  [WxOpenData()],
);
decorateMethod(
  proto,
  'noop',
  [Post('noop'), HttpCode(200), UseGuards(NoopGuard), UseInterceptors(NoopInterceptor)],
  [Body()],
);
Reflect.decorate([Controller()], BenchController);

class BenchModule {}
Reflect.decorate(
  [
    Module({
      imports: [
        WxOpenDataModule.forRoot({
          appId: APP_ID,
          appSecret: 'bench-secret',
          sessionStore: new MemoryWxSessionStore(),
          // The real default: every request of a run carries a payload of its own.
          replayProtection: true,
        }),
      ],
      controllers: [BenchController],
    }),
  ],
  BenchModule,
);

const adapterName = process.argv[2];
if (adapterName !== 'express' && adapterName !== 'fastify') {
  throw new Error('usage: http-server.mjs express|fastify');
}
const app = await NestFactory.create(
  BenchModule,
  adapterName === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
  { logger: false },
);
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address();
const config = app.get(WX_OPEN_DATA_CONFIG);
const sessions = app.get(WxSessionService);
const store = app.get(WxSessionStore);

/** Mean µs of `step` over `bodies` (sync or async), after a warm-up pass. */
async function timeStage(bodies, step) {
  for (let i = 0; i < Math.min(500, bodies.length); i++) await step(bodies[i], i);
  const started = performance.now();
  for (let i = 0; i < bodies.length; i++) await step(bodies[i], i);
  return ((performance.now() - started) * 1000) / bodies.length;
}

/** Where the µs of one @WxVerified(WxUserInfo) request go, stage by stage, in this process. */
async function breakdown(token, texts) {
  const bodies = texts.map((text) => JSON.parse(text));
  const check = {
    appId: APP_ID,
    maxAgeSeconds: config.watermarkMaxAgeSeconds,
    clockToleranceSeconds: config.clockToleranceSeconds,
  };
  const session = await sessions.require(token);
  const budget = keyBudgetId(session.appId, session.openid, session.sessionKey);
  const plains = bodies.map((b) =>
    decryptOpenData({ ...readEncryptedEnvelope(b), sessionKey: session.sessionKey }, check),
  );
  const marks = bodies.map(() => randomBytes(32).toString('base64url'));
  return {
    session_lookup: await timeStage(bodies, () => sessions.require(token)),
    key_budget: await timeStage(bodies, async () => {
      await store.takeKeyAttempt(budget, 5, 86_400);
      await store.settleKeyAttempt(budget, true);
    }),
    envelope_read: await timeStage(bodies, (b) => {
      readSignedRawData(b);
      readEncryptedEnvelope(b);
    }),
    signature: await timeStage(bodies, (b) => {
      verifySignature(b.rawData, b.signature, session.sessionKey);
    }),
    decrypt: await timeStage(bodies, (b) => {
      decryptOpenData({ encryptedData: b.encryptedData, iv: b.iv, sessionKey: session.sessionKey }, check);
    }),
    identity_and_dto: await timeStage(plains, (plain) => {
      checkOpenDataIdentity(plain, session);
      toOpenDataPayload(WxUserInfo, plain);
    }),
    replay_claim: await timeStage(bodies, (b, i) => {
      openDataFingerprint(b);
      return store.claimPayload(marks[i], 361);
    }),
  };
}

process.on('message', async (message) => {
  if (message?.type === 'session') {
    process.send({ type: 'session', token: await sessions.create(message.session) });
  } else if (message?.type === 'breakdown') {
    process.send({ type: 'breakdown', us: await breakdown(message.token, message.bodies) });
  } else if (message?.type === 'cpu') {
    // CPU time of this process (user + system, µs): per-request CPU holds on a busy machine.
    process.send({ type: 'cpu', usage: process.cpuUsage() });
  } else if (message?.type === 'stop') {
    await app.close();
    process.disconnect();
    process.exit(0);
  }
});
// The parent gone (killed, crashed): never outlive it.
process.on('disconnect', () => process.exit(0));

process.send({
  type: 'ready',
  port,
  adapter: adapterName,
  replayProtection: 'replayProtection' in config ? config.replayProtection : 'not an option of this build',
});
