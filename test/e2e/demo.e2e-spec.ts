import type { INestApplication } from '@nestjs/common';
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
      'tampered rawData is rejected',
      'log out',
      'the token no longer works',
    ]);
    expect(steps.filter((s) => !s.ok)).toEqual([]);
    expect(steps.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200, 401, 204, 401]);
  });
});
