/**
 * Issue 11 §6: the sample's `/me/phone` validated `WxPhoneNumber` in its handler, so a payload
 * that decrypted but failed the DTO was never counted against the key. Through the library's
 * DTO path (`@WxVerified(WxPhoneNumber, { payloadOptional: true })`) it is.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { MiniProgramClient, encryptOpenData } from '../../lib/testing/index.js';
import { WECHAT_ENDPOINT, type WeChatEndpoint } from '../../sample/src/wechat-endpoint.js';
import { startSample } from '../../sample/src/main.js';

describe('the sample /me/phone counts DTO failures against the key', () => {
  let app: INestApplication;
  let endpoint: WeChatEndpoint;
  beforeAll(async () => {
    delete process.env['WX_APP_SECRET'];
    delete process.env['WX_API_BASE_URL'];
    delete process.env['REDIS_URL'];
    app = await startSample(0, []);
    endpoint = app.get<WeChatEndpoint>(WECHAT_ENDPOINT);
  });
  afterAll(async () => {
    await app.close();
  });

  it('five decrypted payloads failing WxPhoneNumber spend the key: the sixth request must log in again', async () => {
    const user = new MiniProgramClient(endpoint.fake!, { appId: endpoint.appId });
    const { token } = (
      await request(app.getHttpServer()).post('/auth/login').send({ code: user.login() }).expect(200)
    ).body;
    const post = (body: object) =>
      request(app.getHttpServer()).post('/me/phone').set('Authorization', `Bearer ${token}`).send(body);
    // Decrypts with the right key and carries a fresh watermark, but is no phone number.
    const notAPhone = () =>
      encryptOpenData(
        {
          phoneNumber: 'call me',
          watermark: { appid: endpoint.appId, timestamp: Math.floor(Date.now() / 1000) },
        },
        user.sessionKey(),
      );
    for (let i = 0; i < 5; i += 1) {
      expect((await post(notAPhone()).expect(401)).body.code).toBe('WX_OPEN_DATA_REJECTED');
    }
    expect((await post(user.getPhoneNumber()).expect(401)).body.code).toBe('WX_SESSION_REQUIRED');
  });

  it('both flows still work: the encrypted payload and the code', async () => {
    const user = new MiniProgramClient(endpoint.fake!, { appId: endpoint.appId });
    const { token } = (
      await request(app.getHttpServer()).post('/auth/login').send({ code: user.login() }).expect(200)
    ).body;
    const post = (body: object) =>
      request(app.getHttpServer()).post('/me/phone').set('Authorization', `Bearer ${token}`).send(body);
    expect((await post(user.getPhoneNumber('13900139000')).expect(200)).body.purePhoneNumber).toBe(
      '13900139000',
    );
    expect(
      (await post({ code: user.getPhoneNumberCode('13700137000') }).expect(200)).body.purePhoneNumber,
    ).toBe('13700137000');
  });
});
