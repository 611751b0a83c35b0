import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { WxOpenDataConfigError, WxOpenDataModule } from '../../lib/index.js';
import {
  createApiSecurityTestKeys,
  FakeWeChatServer,
  MiniProgramClient,
  type FakeAnswerTampering,
} from '../../lib/testing/index.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';

const APP_SECRET = 'api-security-suite-app-secret';
const keys = createApiSecurityTestKeys({ privateKeyFormat: 'pkcs1' });
const PHONE = '/wxa/business/getuserphonenumber';

describe.each(ADAPTERS)('API security mode in a Nest app (%s)', (adapter) => {
  let app: INestApplication;
  let wechat: FakeWeChatServer;
  const logger = new CapturingLogger();
  let token: string;
  let user: MiniProgramClient;
  const post = (path: string, body: object) =>
    request(app.getHttpServer()).post(path).set('Authorization', `Bearer ${token}`).send(body);

  beforeAll(async () => {
    wechat = new FakeWeChatServer({
      apps: [{ appId: APP_ID, appSecret: APP_SECRET, apiSecurity: keys.fake }],
    });
    const apiBaseUrl = await wechat.start();
    app = await startTestApp(
      adapter,
      {
        imports: [
          WxOpenDataModule.forRoot({
            appId: APP_ID,
            appSecret: APP_SECRET,
            apiBaseUrl,
            apiSecurity: keys.client,
          }),
        ],
        controllers: [AuthTestRoutes],
      },
      logger,
    );
    user = new MiniProgramClient(wechat, { appId: APP_ID });
    const login = await request(app.getHttpServer())
      .post('/auth/login')
      .send({ code: user.login() })
      .expect(200);
    token = login.body.token as string;
  });
  afterAll(async () => {
    await app.close();
    await wechat.stop();
  });

  it('exchanges a phone code through the encrypted, signed call', async () => {
    const res = await post('/me/phone-code', { code: user.getPhoneNumberCode('13955556666') }).expect(200);
    expect(res.body).toMatchObject({ purePhoneNumber: '13955556666' });
  });

  it.each<FakeAnswerTampering>([
    'bad-signature',
    'tampered-tag',
    'unsigned',
    'wrong-serial',
    'stale-timestamp',
  ])('turns a forged answer (%s) into a 502 that carries none of it', async (tampering) => {
    wechat.tamperNextAnswer(PHONE, tampering);
    const res = await post('/me/phone-code', { code: user.getPhoneNumberCode('13977778888') }).expect(502);
    expect(res.body).toEqual({
      statusCode: 502,
      error: 'Bad Gateway',
      code: 'WX_API_ANSWER_REJECTED',
      message: 'WeChat answer failed the API security checks: retry later; the server log says more',
    });
    expect(res.text).not.toContain('13977778888');
  });

  it('answers 502 WX_API_SECURITY_REFUSED when WeChat refuses the request’s security, and logs what to fix', async () => {
    wechat.failNext(PHONE, { errcode: 40234, errmsg: 'invalid signature' });
    const res = await post('/me/phone-code', { code: user.getPhoneNumberCode() }).expect(502);
    expect(res.body.code).toBe('WX_API_SECURITY_REFUSED');
    expect(logger.lines.some((line) => line.includes('40234') && line.includes('privateKey'))).toBe(true);
  });

  it('puts no key material in any log line', () => {
    const privateKeyLine = keys.client.privateKey.split('\n')[1] as string;
    const leaks = logger.lines.filter(
      (line) => line.includes(keys.client.symmetricKey) || line.includes(privateKeyLine),
    );
    expect(leaks).toEqual([]);
  });
});

describe('API security options at boot', () => {
  it('refuses to start with every problem listed at once, and no secret in the message', async () => {
    const badKey = 'c2hvcnQta2V5'; // base64 of 9 bytes
    const unreadable = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----';
    const attempt = startTestApp('express', {
      imports: [
        WxOpenDataModule.forRoot({
          apps: [
            { appId: APP_ID, appSecret: APP_SECRET },
            {
              appId: 'wxfedcba9876543210',
              appSecret: APP_SECRET,
              apiSecurity: { ...keys.client, symmetricKey: badKey, privateKey: unreadable },
            },
          ],
        }),
      ],
    });
    const error = await attempt.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WxOpenDataConfigError);
    const message = (error as Error).message;
    expect(message).toContain('apps[1].apiSecurity.symmetricKey must be');
    expect(message).toContain('apps[1].apiSecurity.privateKey is not a readable PEM private key');
    expect(message).not.toContain(badKey);
    expect(message).not.toContain('bm90IGEga2V5');
  });
});
