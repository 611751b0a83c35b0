import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { WxOpenDataModule } from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { MoreController } from '../../sample/src/more.controller.js';
import { AuthTestRoutes } from './auth-routes.js';
import { CapturingLogger } from './capturing-logger.js';
import { startTestApp, type AdapterName } from './nest-app.js';
import { APP_ID } from './payloads.js';

/** A logged-in simulated user and a way to call the app as them. */
export interface SignedInUser {
  readonly user: MiniProgramClient;
  readonly code: string;
  post(path: string, body: object): request.Test;
}

/** The sample's MoreController (plus login) against a fake WeChat, on one platform. */
export interface MoreApp {
  readonly app: INestApplication;
  readonly wechat: FakeWeChatServer;
  readonly logger: CapturingLogger;
  readonly appSecret: string;
  http(): ReturnType<typeof request>;
  signIn(options?: { unionid?: string }): Promise<SignedInUser>;
  close(): Promise<void>;
}

export async function startMoreApp(
  adapter: AdapterName,
  options: { appSecret: string; now?: () => number; apiTimeoutMs?: number },
): Promise<MoreApp> {
  const { appSecret } = options;
  const wechat = new FakeWeChatServer({
    apps: [{ appId: APP_ID, appSecret }],
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const apiBaseUrl = await wechat.start();
  const logger = new CapturingLogger();
  const module = WxOpenDataModule.forRoot({
    appId: APP_ID,
    appSecret,
    apiBaseUrl,
    ...(options.apiTimeoutMs === undefined ? {} : { apiTimeoutMs: options.apiTimeoutMs }),
  });
  const app = await startTestApp(
    adapter,
    { imports: [module], controllers: [AuthTestRoutes, MoreController] },
    logger,
  );
  const http = (): ReturnType<typeof request> => request(app.getHttpServer());
  return {
    app,
    wechat,
    logger,
    appSecret,
    http,
    signIn: async (user = {}) => {
      const client = new MiniProgramClient(wechat, { appId: APP_ID, ...user });
      const code = client.login();
      const res = await http().post('/auth/login').send({ code }).expect(200);
      const token = res.body.token as string;
      return {
        user: client,
        code,
        post: (path, body) => http().post(path).set('Authorization', `Bearer ${token}`).send(body),
      };
    },
    close: async () => {
      await app.close();
      await wechat.stop();
    },
  };
}
