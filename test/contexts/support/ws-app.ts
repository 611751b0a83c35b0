import type { IncomingMessage } from 'node:http';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import {
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type WsResponse,
} from '@nestjs/websockets';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import {
  rememberWxHandshake,
  WxOpenData,
  WxOpenDataModule,
  WxSession,
  WxUserInfo,
  WxVerified,
  type WxOpenDataModuleOptions,
  type WxSessionInfo,
} from '../../../lib/index.js';
import { APP_ID } from '../../support/payloads.js';

export type WsPlatformName = 'ws' | 'socket.io';

@WebSocketGateway()
export class OpenDataGateway implements OnGatewayConnection {
  /** @nestjs/platform-ws keeps no upgrade request: the gateway hands it over at connection. */
  handleConnection(client: object, request?: IncomingMessage): void {
    if (request !== undefined) rememberWxHandshake(client, request);
  }

  @SubscribeMessage('profile')
  @WxVerified(WxUserInfo)
  profile(
    @MessageBody() _body: unknown,
    @WxOpenData() info: WxUserInfo,
    @WxSession() session: WxSessionInfo,
  ): WsResponse<unknown> {
    return {
      event: 'profile',
      data: { openId: info.openId, city: info.city, isDto: info instanceof WxUserInfo, session },
    };
  }

  @SubscribeMessage('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo): WsResponse<unknown> {
    return { event: 'me', data: session };
  }

  @SubscribeMessage('ping')
  ping(): WsResponse<unknown> {
    return { event: 'pong', data: 'pong' };
  }
}

/** A real Nest app with the gateway on its own HTTP server, on loopback. */
export async function startWsApp(
  platform: WsPlatformName,
  logger: LoggerService,
  options: Partial<WxOpenDataModuleOptions> = {},
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [WxOpenDataModule.forRoot({ apps: [{ appId: APP_ID, appSecret: 'test-secret' }], ...options })],
    providers: [OpenDataGateway],
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  app.useWebSocketAdapter(platform === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: platform === 'ws' ? `ws://127.0.0.1:${port}` : `http://127.0.0.1:${port}` };
}

/** What came back for one message: its reply event, or the gateway's `exception` event. */
export interface WsReply {
  event: string;
  data: unknown;
}

/** One client connection, on either platform. */
export interface WsClient {
  /** Sends `event` with `data` and resolves with the first reply or exception (bounded). */
  request(event: string, data: unknown): Promise<WsReply>;
  /** Every text frame or event received, as JSON, to search for leaked secrets. */
  readonly received: string[];
  close(): void;
}

/** How the client presents its token: the `Authorization` header of the handshake, or socket.io's `auth`. */
export type TokenCarrier = 'header' | 'auth';

const REPLY_TIMEOUT_MS = 5000;

/** Connects a real client (`ws` or `socket.io-client`) carrying `token` as `carrier` says. */
export async function connectClient(
  platform: WsPlatformName,
  url: string,
  token: string | undefined,
  carrier: TokenCarrier = platform === 'ws' ? 'header' : 'auth',
): Promise<WsClient> {
  const headers: Record<string, string> =
    token !== undefined && carrier === 'header' ? { authorization: `Bearer ${token}` } : {};
  return platform === 'ws'
    ? connectWs(url, headers)
    : connectIo(url, headers, token !== undefined && carrier === 'auth' ? { token } : {});
}

function timeout(event: string): Promise<never> {
  return new Promise((_resolve, reject) => {
    setTimeout(
      () => reject(new Error(`no reply to '${event}' within ${REPLY_TIMEOUT_MS} ms`)),
      REPLY_TIMEOUT_MS,
    ).unref();
  });
}

async function connectWs(url: string, headers: Record<string, string>): Promise<WsClient> {
  const socket = new WebSocket(url, { headers });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const received: string[] = [];
  const waiting: Array<(reply: WsReply) => void> = [];
  socket.on('message', (raw) => {
    const text = String(raw);
    received.push(text);
    waiting.shift()?.(JSON.parse(text) as WsReply);
  });
  return {
    received,
    request(event, data) {
      const reply = new Promise<WsReply>((resolve) => waiting.push(resolve));
      socket.send(JSON.stringify({ event, data }));
      return Promise.race([reply, timeout(event)]);
    },
    close: () => socket.close(),
  };
}

async function connectIo(
  url: string,
  extraHeaders: Record<string, string>,
  auth: Record<string, string>,
): Promise<WsClient> {
  const socket: Socket = io(url, { transports: ['websocket'], extraHeaders, auth, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const received: string[] = [];
  const waiting: Array<(reply: WsReply) => void> = [];
  socket.onAny((event: string, data: unknown) => {
    received.push(JSON.stringify({ event, data }));
    waiting.shift()?.({ event, data });
  });
  return {
    received,
    request(event, data) {
      const reply = new Promise<WsReply>((resolve) => waiting.push(resolve));
      socket.emit(event, data);
      return Promise.race([reply, timeout(event)]);
    },
    close: () => socket.close(),
  };
}
