import { createServer } from 'node:net';
import { Controller, type INestApplication } from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import {
  WxOpenDataModule,
  WxSession,
  WxSessionService,
  WxVerified,
  type WxSessionInfo,
} from '../../lib/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { APP_ID } from '../support/payloads.js';
import { newUser } from './support/users.js';

@Controller()
class RpcRoutes {
  @MessagePattern('me')
  @WxVerified()
  me(@Payload() _data: unknown, @WxSession() session: WxSessionInfo) {
    return session;
  }

  @MessagePattern('ping')
  ping() {
    return 'pong';
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a context the library does not support (a TCP microservice)', () => {
  const logger = new CapturingLogger();
  let app: INestApplication;
  let client: ClientProxy;

  beforeAll(async () => {
    const port = await freePort();
    const moduleRef = await Test.createTestingModule({
      imports: [WxOpenDataModule.forRoot({ apps: [{ appId: APP_ID, appSecret: 'test-secret' }] })],
      controllers: [RpcRoutes],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await app.startAllMicroservices();
    await app.init();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
  });

  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('refuses every request with a typed error naming the context, never a TypeError', async () => {
    const { token } = await newUser(app.get(WxSessionService));
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(firstValueFrom(client.send('me', { token }))).rejects.toEqual({
        status: 'error',
        message: 'Internal server error',
      });
    }
    const lines = logger.containing('WxUnsupportedContextError');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toContain('"rpc"');
    expect(logger.lines.join('\n')).not.toMatch(/TypeError|Cannot read/);
    expect(logger.lines.join('\n')).not.toContain(token);
    // The microservice itself keeps answering.
    expect(await firstValueFrom(client.send('ping', {}))).toBe('pong');
  });
});
