import { Test } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { WxOpenDataConfigError, WxOpenDataModule } from 'nestjs-wx-open-data';
import { FakeWeChatServer, MiniProgramClient } from 'nestjs-wx-open-data/testing';
import { AppModule } from '../src/app.module.js';

const appId = 'wx0123456789abcdef';

async function startApp(): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('Fastify, forRootAsync + registerAs (e2e)', () => {
  const wechat = new FakeWeChatServer({ apps: [{ appId, appSecret: 'test-secret' }] });
  let app: NestFastifyApplication;

  beforeAll(async () => {
    process.env.WX_APP_ID = appId;
    process.env.WX_APP_SECRET = 'test-secret';
    process.env.WX_API_BASE_URL = await wechat.start();
    app = await startApp();
  });

  afterAll(async () => {
    await app.close();
    await wechat.stop();
  });

  it('logs in, reads the verified profile, logs out', async () => {
    const user = new MiniProgramClient(wechat, { appId });
    const login = await request(app.getHttpServer())
      .post('/auth/login')
      .send({ code: user.login() })
      .expect(200);
    const auth = `Bearer ${login.body.token}`;
    const profile = await request(app.getHttpServer())
      .post('/me/profile')
      .set('Authorization', auth)
      .send(user.getUserInfo())
      .expect(200);
    expect(profile.body.openid).toBe(login.body.openid);
    await request(app.getHttpServer()).post('/auth/logout').set('Authorization', auth).expect(204);
    await request(app.getHttpServer())
      .post('/me/profile')
      .set('Authorization', auth)
      .send(user.getUserInfo())
      .expect(401);
  });

  it('answers 400 to a login without a code, without calling WeChat', async () => {
    const calls = wechat.requestCount('/sns/jscode2session');
    await request(app.getHttpServer()).post('/auth/login').send({}).expect(400);
    expect(wechat.requestCount('/sns/jscode2session')).toBe(calls);
  });

  it('does not boot without the secret, naming the option', async () => {
    delete process.env.WX_APP_SECRET;
    try {
      await expect(startApp()).rejects.toThrow(WxOpenDataConfigError);
      await expect(startApp()).rejects.toThrow(/appSecret/);
    } finally {
      process.env.WX_APP_SECRET = 'test-secret';
    }
  });

  it('does not boot with `redis` while keyv and @keyv/redis are not installed, naming them', async () => {
    const options = { appId, appSecret: 'test-secret', redis: { url: 'redis://127.0.0.1:6379' } };
    const booting = Test.createTestingModule({ imports: [WxOpenDataModule.forRoot(options)] }).compile();
    await expect(booting).rejects.toThrow('npm install keyv @keyv/redis');
  });
});
