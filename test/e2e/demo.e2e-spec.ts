import type { INestApplication } from '@nestjs/common';
import { WxSessionStore } from 'nestjs-wx-open-data';
import { RedisWxSessionStore } from 'nestjs-wx-open-data/redis';
import { MORE_DEMO_STEPS } from '../../sample/src/demo-more.js';
import { runDemo } from '../../sample/src/demo.js';
import { startSample } from '../../sample/src/main.js';

describe('the sample app demo (npm run demo)', () => {
  let app: INestApplication;
  beforeAll(async () => {
    delete process.env['WX_APP_SECRET'];
    delete process.env['WX_API_BASE_URL'];
    app = await startSample(0, []);
  });
  afterAll(async () => {
    await app.close();
  });

  it('plays every flow against the embedded fake WeChat, each step as expected', async () => {
    const steps = await runDemo(app);
    expect(steps.map((s) => s.name)).toEqual([
      'log in with a wx.login code',
      'verified, decrypted user profile',
      'phone number, old flow (encrypted)',
      'phone number, current flow (code for getuserphonenumber)',
      'WeRun steps',
      'group share info',
      ...MORE_DEMO_STEPS,
      'tampered rawData is rejected',
      'log out',
      'the token no longer works',
    ]);
    expect(steps.filter((s) => !s.ok)).toEqual([]);
    expect(steps.map((s) => s.status)).toEqual([
      200, 200, 200, 200, 200, 200, 200, 200, 200, 204, 200, 200, 204, 400, 200, 200, 200, 200, 200, 401, 204,
      401,
    ]);
  });
});

describe('the sample app documents its API at /docs', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await startSample(0, []);
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves an OpenAPI document with the encrypted envelopes and the typed results', async () => {
    const res = await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<
        string,
        { post: { requestBody: unknown; responses: Record<string, unknown>; security?: unknown } }
      >;
    };
    const profile = doc.paths['/me/profile']?.post;
    expect(JSON.stringify(profile?.requestBody)).toContain('encryptedData');
    expect(JSON.stringify(profile?.responses['200'])).toContain('nickName');
    expect(JSON.stringify(profile?.responses['401'])).toContain('WX_OPEN_DATA_REJECTED');
    expect(profile?.security).toEqual([{ bearer: [] }]);
    expect(JSON.stringify(doc.paths['/me/phone']?.post.requestBody)).toContain('getPhoneNumber');
    expect(JSON.stringify(doc.paths['/me/werun']?.post.responses['200'])).toContain('stepInfoList');
    expect(doc.paths['/auth/login']).toBeDefined();
  });
});

describe('the sample app with REDIS_URL set', () => {
  let app: INestApplication;
  beforeAll(async () => {
    process.env['REDIS_URL'] = 'redis://127.0.0.1:6379';
    app = await startSample(0, []);
  });
  afterAll(async () => {
    delete process.env['REDIS_URL'];
    await app.close();
  });

  it('keeps its sessions in Redis and plays the whole demo', async () => {
    expect(app.get(WxSessionStore)).toBeInstanceOf(RedisWxSessionStore);
    const steps = await runDemo(app);
    expect(steps.filter((s) => !s.ok)).toEqual([]);
  });
});
