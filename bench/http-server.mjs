// The server side of the HTTP benchmark, run as its own process (`fork`, by http.bench.mjs) so the
// load generator never shares an event loop with it. A Nest app on 127.0.0.1, on the adapter named
// in argv[2], with three routes that take the same JSON body and answer the same `{ "ok": true }`:
//   POST /bare          no guard, no interceptor: what the framework alone costs
//   POST /verified      @WxVerified(): session, signature, decrypt, watermark, identity
//   POST /verified-dto  @WxVerified(WxUserInfo): the same plus the DTO transform and validation
//   POST /noop          reference: an async guard and an interceptor that do nothing, to show
//                       what Nest's guard + interceptor pipeline costs before any of our work
// IPC: it sends { type: 'ready', port, config }; on { type: 'fixture' } it opens a new session and
// answers { type: 'fixture', token, body } with a freshly signed and encrypted user-info body (the
// watermark is now, so it stays fresh for the 300 s window); on { type: 'stop' } it closes.
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
import {
  MemoryWxSessionStore,
  WxOpenData,
  WxOpenDataModule,
  WxSessionService,
  WxUserInfo,
  WxVerified,
} from 'nestjs-wx-open-data';
// Internal, not an export of the package: the bench reports which options the build resolved.
import { WX_OPEN_DATA_CONFIG } from '../dist/esm/nest/config.js';
import { userInfoFixture } from './crypto.bench.mjs';

const APP_ID = 'wx0123456789abcdef';
const OK = Object.freeze({ ok: true });

/** Plain JavaScript has no decorator syntax: apply them the way TypeScript's output does. */
function decorateMethod(target, key, decorators, parameterDecorators = []) {
  parameterDecorators.forEach((decorator, index) => decorator(target, key, index));
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, Reflect.decorate(decorators, target, key, descriptor) ?? descriptor);
}

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
          // The same body is sent over and over: a replay cache would refuse every repeat. Options
          // the library does not know are ignored, so this is harmless where there is none.
          replayProtection: false,
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

process.on('message', async (message) => {
  if (message?.type === 'fixture') {
    const f = userInfoFixture();
    const token = await sessions.create(f.session);
    const body = { rawData: f.rawData, signature: f.signature, encryptedData: f.encryptedData, iv: f.iv };
    process.send({ type: 'fixture', token, body });
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
