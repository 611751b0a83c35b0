/** The sample's own-identity variant (`SAMPLE_IDENTITY=jwt`): the README's recipe, played end to end. */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { MiniProgramClient } from '../../lib/testing/index.js';

// Read when the sample's module is first imported: set before the dynamic imports below.
process.env['SAMPLE_IDENTITY'] = 'jwt';
delete process.env['WX_APP_SECRET'];
delete process.env['WX_API_BASE_URL'];
delete process.env['REDIS_URL'];
const { startSample } = await import('../../sample/src/main.js');
const { WECHAT_ENDPOINT } = await import('../../sample/src/wechat-endpoint.js');

describe('the sample with SAMPLE_IDENTITY=jwt', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await startSample(0, []);
  });
  afterAll(async () => {
    await app.close();
    delete process.env['SAMPLE_IDENTITY'];
  });

  it("logs in with the app's own JWT and verifies open data through req.user", async () => {
    const endpoint = app.get<{ appId: string; fake?: ConstructorParameters<typeof MiniProgramClient>[0] }>(
      WECHAT_ENDPOINT,
    );
    const user = new MiniProgramClient(endpoint.fake!, { appId: endpoint.appId });
    const login = await request(app.getHttpServer())
      .post('/auth/login')
      .send({ code: user.login() })
      .expect(200);
    expect(Object.keys(login.body)).toEqual(['token']);
    const jwt = login.body.token as string;
    expect(jwt.split('.')).toHaveLength(3);
    const res = await request(app.getHttpServer())
      .post('/me/profile')
      .set('Authorization', `Bearer ${jwt}`)
      .send(user.getUserInfo())
      .expect(200);
    expect(res.body.openid).toBe(user.openid);
    await request(app.getHttpServer()).post('/me/profile').send(user.getUserInfo()).expect(401);
  });
});
