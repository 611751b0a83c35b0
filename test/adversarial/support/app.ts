import { Controller, Get, HttpCode, Post, type INestApplication, type Type } from '@nestjs/common';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import {
  WxOpenData,
  WxOpenDataModule,
  WxPhoneNumber,
  WxSession,
  WxSessionService,
  WxShareInfo,
  WxUserInfo,
  WxVerified,
  WxWeRunData,
  type WxOpenDataModuleOptions,
  type WxSessionInfo,
} from '../../../lib/index.js';
import { CapturingLogger } from '../../support/capturing-logger.js';
import type { AdapterName } from '../../support/nest-app.js';
import { APP_ID, OTHER_APP_ID } from './bodies.js';
import { LoopbackClient } from './http.js';

/**
 * The JSON body limit the apps under test configure, as the README should tell users to: open
 * data envelopes are far smaller (user info is about 1 KiB), and every envelope the library's
 * own field limits let through (rawData 4096, signature 128, encryptedData 8192, iv 64
 * characters, all ASCII apart from rawData) fits in it.
 *
 * - Express: `app.useBodyParser('json', { limit: 16_384 })` (before `listen`);
 * - Fastify: `new FastifyAdapter({ bodyLimit: 16_384 })`.
 */
export const BODY_LIMIT_BYTES = 16 * 1024;

export const APP_SECRET = 'adversarial-app-secret-9f8e7d6c5b4a';
export const OTHER_APP_SECRET = 'adversarial-other-secret-0a1b2c3d';

/** Counts handler runs: a rejected request must never reach one. */
export const probe = { handlerCalls: 0 };

/** How an object looks to a handler: prototype, own keys, and the same for every child. */
export interface ObjectView {
  proto: string;
  keys: string[];
  children: Record<string, ObjectView>;
}

/** Describes `value` as the handler sees it, to at most `depth` levels. */
export function viewOf(value: unknown, depth = 8): ObjectView | null {
  if (typeof value !== 'object' || value === null || depth === 0) return null;
  const proto: unknown = Object.getPrototypeOf(value);
  const protoName =
    proto === null
      ? 'null'
      : proto === Object.prototype
        ? 'Object'
        : proto === Array.prototype
          ? 'Array'
          : typeof (proto as { constructor?: unknown }).constructor === 'function'
            ? ((proto as { constructor: { name: string } }).constructor.name ?? '?')
            : '?';
  const children: Record<string, ObjectView> = {};
  const keys = Reflect.ownKeys(value).map(String);
  for (const key of Object.keys(value)) {
    const child = viewOf((value as Record<string, unknown>)[key], depth - 1);
    if (child !== null) children[key] = child;
  }
  return { proto: protoName, keys, children };
}

@Controller()
export class OpenDataRoutes {
  @Post('profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() info: WxUserInfo, @WxSession() session: WxSessionInfo) {
    probe.handlerCalls += 1;
    return { view: viewOf({ info, session }) };
  }

  @Post('phone')
  @HttpCode(200)
  @WxVerified(WxPhoneNumber)
  phone(@WxOpenData() phone: WxPhoneNumber, @WxSession() session: WxSessionInfo) {
    probe.handlerCalls += 1;
    return { view: viewOf({ phone, session }) };
  }

  @Post('werun')
  @HttpCode(200)
  @WxVerified(WxWeRunData)
  weRun(@WxOpenData() data: WxWeRunData, @WxSession() session: WxSessionInfo) {
    probe.handlerCalls += 1;
    return { view: viewOf({ data, session }) };
  }

  @Post('share')
  @HttpCode(200)
  @WxVerified(WxShareInfo)
  share(@WxOpenData() share: WxShareInfo, @WxSession() session: WxSessionInfo) {
    probe.handlerCalls += 1;
    return { view: viewOf({ share, session }) };
  }

  /** No DTO: the plain decrypted object, or none when the body carries no encrypted part. */
  @Post('plain')
  @HttpCode(200)
  @WxVerified()
  plain(@WxOpenData() data: unknown, @WxSession() session: WxSessionInfo) {
    probe.handlerCalls += 1;
    return { view: viewOf({ data: data ?? null, session }), hasData: data !== undefined };
  }
}

/** The session-only route, counted by the probe; login and logout come from AuthTestRoutes. */
@Controller()
export class ProbedSessionRoute {
  @Get('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo) {
    probe.handlerCalls += 1;
    return session;
  }
}

/** Whose sessions {@link freshTokens} opens. */
export interface SessionOwner {
  openid: string;
  unionid?: string;
  sessionKey: string;
  appId?: string;
}

/**
 * `count` new sessions of `owner`, opened one after the other: one per request, so that a
 * session one request ended (a logout, say) never decides another's answer. The key-attempt
 * budget is per user key and shared by all of them: suites that send many refused payloads run
 * with `maxKeyFailures: false`.
 */
export async function freshTokens(
  app: AdversarialApp,
  owner: SessionOwner,
  count: number,
): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(await app.sessions.create(owner));
  return tokens;
}

/** A running app under attack, with a client, its log and its session service. */
export interface AdversarialApp {
  readonly adapter: AdapterName;
  readonly app: INestApplication;
  readonly port: number;
  readonly client: LoopbackClient;
  readonly logger: CapturingLogger;
  readonly sessions: WxSessionService;
  close(): Promise<void>;
}

export interface AdversarialAppOptions {
  module?: Partial<WxOpenDataModuleOptions>;
  controllers?: Type[];
  logger?: CapturingLogger;
  /** Keep-alive connections of the client. */
  maxSockets?: number;
}

/**
 * A real Nest app on 127.0.0.1 with the JSON body limit of {@link BODY_LIMIT_BYTES}, serving
 * {@link APP_ID} and {@link OTHER_APP_ID}.
 */
export async function startAdversarialApp(
  adapter: AdapterName,
  options: AdversarialAppOptions = {},
): Promise<AdversarialApp> {
  const logger = options.logger ?? new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      WxOpenDataModule.forRoot({
        apps: [
          { appId: APP_ID, appSecret: APP_SECRET },
          { appId: OTHER_APP_ID, appSecret: OTHER_APP_SECRET },
        ],
        ...options.module,
      }),
    ],
    controllers: options.controllers ?? [OpenDataRoutes],
  }).compile();
  let app: INestApplication;
  if (adapter === 'express') {
    const express = moduleRef.createNestApplication<NestExpressApplication>(new ExpressAdapter(), { logger });
    express.useBodyParser('json', { limit: BODY_LIMIT_BYTES });
    app = express;
  } else {
    app = moduleRef.createNestApplication(new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES }), { logger });
  }
  app.useLogger(logger);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const client = new LoopbackClient(port, options.maxSockets ?? 8);
  return {
    adapter,
    app,
    port,
    client,
    logger,
    sessions: app.get(WxSessionService),
    close: async () => {
      client.close();
      await app.close();
    },
  };
}
