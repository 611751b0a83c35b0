import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { WxOpenDataModule, type WxOpenDataModuleOptions } from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';

const APP_SECRET = 'answers-suite-app-secret';

/**
 * A real app on `adapter` with the auth routes, a fake WeChat and a logger that keeps every line,
 * started before the suite's tests and stopped after them.
 */
function suiteApp(adapter: (typeof ADAPTERS)[number], options: Partial<WxOpenDataModuleOptions> = {}) {
  const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
  const logger = new CapturingLogger();
  let app: INestApplication;

  beforeAll(async () => {
    const apiBaseUrl = await wechat.start();
    app = await startTestApp(
      adapter,
      {
        imports: [WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl, ...options })],
        controllers: [AuthTestRoutes],
      },
      logger,
    );
  });

  afterAll(async () => {
    await app.close();
    await wechat.stop();
  });

  return { wechat, logger, http: () => request(app.getHttpServer()) };
}

describe.each(ADAPTERS)('answers that say what to do (%s)', (adapter) => {
  const { wechat, logger, http } = suiteApp(adapter);

  it('a rejected login code: call wx.login again', async () => {
    const res = await http().post('/auth/login').send({ code: 'never-issued-login-code' }).expect(401);
    expect(res.body).toMatchObject({ code: 'WX_CODE_REJECTED' });
    expect(res.body.message).toBe(
      'WeChat rejected the login code: call wx.login again and send the new code',
    );
  });

  it('a rejected phone number code: tap the phone number button again, not wx.login', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const login = await http().post('/auth/login').send({ code: user.login() }).expect(200);
    const res = await http()
      .post('/me/phone-code')
      .set('Authorization', `Bearer ${login.body.token}`)
      .send({ code: 'never-issued-phone-code' })
      .expect(401);
    expect(res.body).toMatchObject({ code: 'WX_CODE_REJECTED' });
    expect(res.body.message).toMatch(/tap the phone number button again/);
    expect(res.body.message).not.toMatch(/wx\.login/);
  });

  it.each([
    ['no token', undefined, 'no token'],
    ['a malformed token', 'Bearer bogus', 'malformed token'],
    ['an unknown token', `Bearer ${'A'.repeat(43)}`, 'unknown or expired token'],
  ])('%s: the 401 says to log in, the log says exactly why', async (_name, authorization, reason) => {
    const before = logger.lines.length;
    const call = http().post('/auth/logout');
    if (authorization !== undefined) call.set('Authorization', authorization);
    const res = await call.expect(401);
    expect(res.body).toMatchObject({ code: 'WX_SESSION_REQUIRED' });
    expect(res.body.message).toMatch(/wx\.login/);
    const logged = logger.lines.slice(before).filter((line) => line.includes('SESSION_NOT_FOUND'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`(${reason})`);
  });

  it('every rejection log line names its request and, once the user is known, an opaque user reference', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const login = await http().post('/auth/login').send({ code: user.login() }).expect(200);
    const openid = login.body.openid as string;
    const before = logger.lines.length;
    await http()
      .post('/auth/logout')
      .set('x-request-id', 'req-7f3a.9')
      .set('Authorization', `Bearer ${login.body.token}`)
      .send({ ...user.getUserInfo(), signature: '0'.repeat(40) })
      .expect(401);
    // Client text that is not a plain token is never logged: the line gets an id of its own.
    await http().post('/auth/logout').set('x-request-id', 'evil\ttext with spaces').expect(401);
    const lines = logger.lines.slice(before).filter((line) => line.includes(' rejected: '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/\[request req-7f3a\.9, user [0-9a-f]{8}\] rejected: SIGNATURE_INVALID/);
    expect(lines[1]).toMatch(/\[request [0-9a-f-]{36}\] rejected: SESSION_NOT_FOUND/);
    for (const line of lines) {
      expect(line).not.toContain(openid);
      expect(line).not.toContain('evil');
    }
  });
});

describe.each(ADAPTERS)('every log line of one request (%s)', (adapter) => {
  // One failure spends the key's budget, and WeChat is asked about the key: three lines.
  const { wechat, logger, http } = suiteApp(adapter, { maxKeyFailures: 1, checkSessionKeyOnFailure: true });

  it('names one request id (generated when none is sent) and one user reference, never the openid or a secret', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const code = user.login();
    const login = await http().post('/auth/login').send({ code }).expect(200);
    const { openid, token } = login.body as { openid: string; token: string };
    const before = logger.lines.length;
    await http()
      .post('/auth/logout')
      .set('Authorization', `Bearer ${token}`)
      .send({ ...user.getUserInfo(), signature: '0'.repeat(40) })
      .expect(401);
    // The checkSessionKey diagnosis runs in the background.
    const deadline = Date.now() + 3000;
    while (
      !logger.lines.slice(before).some((line) => line.includes('checkSessionKey')) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const lines = logger.lines.slice(before);
    expect(lines.filter((line) => / rejected: SIGNATURE_INVALID /.test(line))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('key budget of this user'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('checkSessionKey: the session key is valid'))).toHaveLength(
      1,
    );
    const named = lines.map((line) => /\[request ([0-9a-f-]{36}), user ([0-9a-f]{8})\]/.exec(line));
    expect(named.every((match) => match !== null)).toBe(true);
    expect(new Set(named.map((match) => match?.[1])).size).toBe(1);
    expect(new Set(named.map((match) => match?.[2])).size).toBe(1);
    for (const line of lines) {
      for (const secret of [openid, token, APP_SECRET, user.sessionKey(), code])
        expect(line).not.toContain(secret);
    }
  });

  it('a refusal answered by the exception filter names the request id the client sent', async () => {
    const before = logger.lines.length;
    await http()
      .post('/auth/login')
      .set('x-request-id', 'login-42')
      .send({ code: 'never-issued' })
      .expect(401);
    const lines = logger.lines.slice(before).filter((line) => line.includes(' rejected: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[request login-42\] rejected: WX_API_ERROR/);
    expect(lines[0]).not.toContain('never-issued');
  });
});
