// The server side of the GraphQL benchmark, its own process (`fork`, by graphql.bench.mjs): a Nest
// app with Apollo (@nestjs/apollo on Express) on 127.0.0.1, schema first, two mutations that take
// the same envelope input and answer the same `true`:
//   bare(input)      no guard: what Nest + Apollo alone cost
//   verified(input)  @WxVerified(WxUserInfo): session, signature, decrypt, watermark, identity,
//                    DTO, replay claim (replayProtection is the default, on), memory store
// argv[2] is the AppID. IPC: it sends { type: 'ready', port, replayProtection }; on { type: 'users', count } it opens
// `count` sessions and answers { type: 'users', users: [{ token, openid, sessionKey }] } so the
// parent can build a pool of distinct payloads (a benchmark's own keys, over IPC only); on
// { type: 'cpu' } it answers its CPU time so far in µs; on { type: 'stop' } it closes.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApolloDriver } from '@nestjs/apollo';
import { Args, GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';
import {
  MemoryWxSessionStore,
  WxOpenData,
  WxOpenDataModule,
  WxSessionService,
  WxUserInfo,
  WxVerified,
} from 'nestjs-wx-open-data';
import { createSessionKey } from 'nestjs-wx-open-data/testing';
// Internal, not an export of the package: the bench reports the options the build resolved.
import { WX_OPEN_DATA_CONFIG } from '../dist/esm/nest/config.js';
import { decorateMethod } from './decorate.mjs';

/** The mini program the payloads are made for, named by the parent (argv[2]). */
const APP_ID = process.argv[2];

const TYPE_DEFS = `
  input EnvelopeInput { rawData: String, signature: String, encryptedData: String, iv: String }
  type Query { health: Boolean! }
  type Mutation {
    bare(input: EnvelopeInput!): Boolean!
    verified(input: EnvelopeInput!): Boolean!
  }
`;

class BenchResolver {
  health() {
    return true;
  }

  bare(input) {
    return typeof input === 'object' && input !== null;
  }

  verified(_input, data) {
    return data instanceof WxUserInfo;
  }
}
const proto = BenchResolver.prototype;
decorateMethod(proto, 'health', [Query('health')]);
decorateMethod(proto, 'bare', [Mutation('bare')], [Args('input')]);
decorateMethod(
  proto,
  'verified',
  [Mutation('verified'), WxVerified(WxUserInfo)],
  [Args('input'), WxOpenData()],
);
Reflect.decorate([Resolver()], BenchResolver);

class BenchModule {}
Reflect.decorate(
  [
    Module({
      imports: [
        WxOpenDataModule.forRoot({
          appId: APP_ID,
          appSecret: 'bench-secret',
          sessionStore: new MemoryWxSessionStore(),
        }),
        GraphQLModule.forRoot({ driver: ApolloDriver, typeDefs: TYPE_DEFS, playground: false }),
      ],
      providers: [BenchResolver],
    }),
  ],
  BenchModule,
);

const app = await NestFactory.create(BenchModule, { logger: false });
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address();
const config = app.get(WX_OPEN_DATA_CONFIG);
const sessions = app.get(WxSessionService);

process.on('message', async (message) => {
  if (message?.type === 'users') {
    const users = [];
    for (let i = 0; i < message.count; i++) {
      const openid = `o-bench-${randomBytes(9).toString('base64url')}`;
      const sessionKey = createSessionKey();
      const token = await sessions.create({ openid, unionid: `u-${openid}`, appId: APP_ID, sessionKey });
      users.push({ token, openid, sessionKey });
    }
    process.send({ type: 'users', users });
  } else if (message?.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ type: 'cpu', micros: user + system });
  } else if (message?.type === 'stop') {
    await app.close();
    process.disconnect();
    process.exit(0);
  }
});
// The parent gone (killed, crashed): never outlive it.
process.on('disconnect', () => process.exit(0));

process.send({ type: 'ready', port, replayProtection: config.replayProtection });
