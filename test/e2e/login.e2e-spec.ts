import { Controller, HttpCode, Post, UseFilters, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  MemoryWxSessionStore,
  WxApiClient,
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxPhoneNumber,
  WxSessionService,
  WxShareInfo,
  WxUserInfo,
  WxVerified,
  WxWeRunData,
  type WxOpenDataModuleOptions,
} from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp, type AdapterName } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';
import { AuthTestRoutes } from '../support/auth-routes.js';

const APP_SECRET = 'login-suite-app-secret';

@Controller()
@UseFilters(WxOpenDataExceptionFilter)
class LoginController {
  @Post('me/profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() info: WxUserInfo) {
    return info;
  }

  @Post('me/phone')
  @HttpCode(200)
  @WxVerified(WxPhoneNumber)
  phone(@WxOpenData() phone: WxPhoneNumber) {
    return phone;
  }

  @Post('me/werun')
  @HttpCode(200)
  @WxVerified(WxWeRunData)
  weRun(@WxOpenData() data: WxWeRunData) {
    return data;
  }

  @Post('groups/share')
  @HttpCode(200)
  @WxVerified(WxShareInfo)
  share(@WxOpenData() share: WxShareInfo) {
    return share;
  }
}

interface Harness {
  app: INestApplication;
  wechat: FakeWeChatServer;
  logger: CapturingLogger;
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
}

async function startHarness(
  adapter: AdapterName,
  options: Partial<WxOpenDataModuleOptions> = {},
): Promise<Harness> {
  const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
  const apiBaseUrl = await wechat.start();
  const logger = new CapturingLogger();
  const app = await startTestApp(
    adapter,
    {
      imports: [WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl, ...options })],
      controllers: [AuthTestRoutes, LoginController],
    },
    logger,
  );
  const server = app.getHttpServer();
  return {
    app,
    wechat,
    logger,
    http: () => request(server),
    close: async () => {
      await app.close();
      await wechat.stop();
    },
  };
}

describe.each(ADAPTERS)('login and the WeChat server API over HTTP (%s)', (adapter) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(adapter, { apiTimeoutMs: 400 });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(async () => {
    await h.wechat.setMode('normal');
    h.wechat.clearFaults();
  });

  const login = async (user: MiniProgramClient): Promise<string> => {
    const res = await h.http().post('/auth/login').send({ code: user.login() }).expect(200);
    return res.body.token as string;
  };
  const post = (path: string, token: string, body: object) =>
    h.http().post(path).set('Authorization', `Bearer ${token}`).send(body);

  it('logs a user in: an opaque token, the openid and unionid, never the session key', async () => {
    const user = new MiniProgramClient(h.wechat, { appId: APP_ID, unionid: 'u-login-user' });
    const res = await h.http().post('/auth/login').send({ code: user.login() }).expect(200);
    expect(res.body).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      openid: user.openid,
      unionid: 'u-login-user',
    });
    expect(res.text).not.toContain(user.sessionKey());
  });

  it('serves every payload kind to a logged-in user', async () => {
    const user = new MiniProgramClient(h.wechat, { appId: APP_ID, profile: { nickName: 'Band', gender: 1 } });
    const token = await login(user);
    const profile = await post('/me/profile', token, user.getUserInfo()).expect(200);
    expect(profile.body).toMatchObject({ openId: user.openid, nickName: 'Band', gender: 1 });
    const phone = await post('/me/phone', token, user.getPhoneNumber('13911112222', 86)).expect(200);
    expect(phone.body).toMatchObject({ phoneNumber: '13911112222', countryCode: '86' });
    const byCode = await post('/me/phone-code', token, {
      code: user.getPhoneNumberCode('13933334444'),
    }).expect(200);
    expect(byCode.body).toMatchObject({ purePhoneNumber: '13933334444', countryCode: '86' });
    const weRun = await post('/me/werun', token, user.getWeRunData(31)).expect(200);
    expect(weRun.body.stepInfoList).toHaveLength(31);
    const share = await post('/groups/share', token, user.getShareInfo('tG-group-1')).expect(200);
    expect(share.body.openGId).toBe('tG-group-1');
  });

  it('gives a new token at every login, and a logged-out token stops working', async () => {
    const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
    const first = await login(user);
    const second = await login(user);
    expect(second).not.toBe(first);
    await post('/auth/logout', second, {}).expect(204);
    const after = await post('/me/profile', second, user.getUserInfo()).expect(401);
    expect(after.body.code).toBe('WX_SESSION_REQUIRED');
    // The other session of the same user lives on, with the user's current key.
    await post('/me/profile', first, user.getUserInfo()).expect(200);
  });

  describe('key rotation', () => {
    it('a second login rotates the key for every session of the user; the old key decrypts during the grace period', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const first = await login(user);
      const fetchedBefore = user.getUserInfo();
      const second = await login(user);
      const fetchedAfter = user.getUserInfo();
      expect(fetchedAfter.encryptedData).not.toBe(fetchedBefore.encryptedData);
      await post('/me/profile', second, fetchedBefore).expect(200);
      await post('/me/profile', second, fetchedAfter).expect(200);
      // A payload is accepted once (replay protection): the first session gets one of its own.
      await post('/me/profile', first, user.getUserInfo()).expect(200);
    });
  });

  describe('WeChat errors', () => {
    it('an unknown code → 401 WX_CODE_REJECTED', async () => {
      const res = await h.http().post('/auth/login').send({ code: 'no-such-code' }).expect(401);
      expect(res.body.code).toBe('WX_CODE_REJECTED');
    });

    it('a code used twice → the same user, a session of its own, one code2Session call', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const code = user.login();
      h.wechat.resetRequestCounts();
      const first = await h.http().post('/auth/login').send({ code }).expect(200);
      const again = await h.http().post('/auth/login').send({ code }).expect(200);
      expect(again.body.openid).toBe(first.body.openid);
      expect(again.body.token).not.toBe(first.body.token);
      expect(h.wechat.requestCount('/sns/jscode2session')).toBe(1);
    });

    it('a code used outside the library (40163, nothing remembered) → 401 WX_CODE_REJECTED', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const code = user.login();
      h.wechat.failNext('/sns/jscode2session', { errcode: 40163, errmsg: 'code been used' });
      const res = await h.http().post('/auth/login').send({ code }).expect(401);
      expect(res.body.code).toBe('WX_CODE_REJECTED');
    });

    it.each([
      [45011, 429, 'WX_RATE_LIMITED'],
      [40226, 403, 'WX_USER_BLOCKED'],
      [40125, 502, 'WX_API_ERROR'],
    ])('errcode %i on code2Session → %i %s', async (errcode, status, code) => {
      h.wechat.failNext('/sns/jscode2session', { errcode });
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const res = await h.http().post('/auth/login').send({ code: user.login() }).expect(status);
      expect(res.body.code).toBe(code);
    });

    it('busy once (-1) is retried and the login succeeds', async () => {
      h.wechat.failNext('/sns/jscode2session', { errcode: -1 });
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      await h.http().post('/auth/login').send({ code: user.login() }).expect(200);
    });

    it.each([
      ['busy for good', 'busy', 502, 'WX_API_ERROR'],
      ['refusing connections', 'refuse', 502, 'WX_API_UNAVAILABLE'],
      ['resetting connections', 'reset', 502, 'WX_API_UNAVAILABLE'],
      ['answering an HTML error page', 'html', 502, 'WX_API_UNAVAILABLE'],
      ['answering garbage', 'garbage', 502, 'WX_API_UNAVAILABLE'],
      ['too slow', 'slow', 504, 'WX_API_TIMEOUT'],
    ] as const)(
      'WeChat %s (mode %s) → %i %s within the timeout, never a hang or a 500',
      async (_name, mode, status, code) => {
        const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
        const loginCode = user.login();
        await h.wechat.setMode(mode, { delayMs: 2_000 });
        const started = Date.now();
        const res = await h.http().post('/auth/login').send({ code: loginCode });
        const elapsed = Date.now() - started;
        expect(res.status).toBe(status);
        expect(res.body.code).toBe(code);
        // apiTimeoutMs is 400: the answer comes within it, plus scheduling slack.
        expect(elapsed).toBeLessThan(1_500);
      },
    );

    it('the phone code flow maps a bad code to 401 and an outage to 502', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await login(user);
      const bad = await post('/me/phone-code', token, { code: 'not-a-phone-code' }).expect(401);
      expect(bad.body.code).toBe('WX_CODE_REJECTED');
      await h.wechat.setMode('html');
      const down = await post('/me/phone-code', token, { code: user.getPhoneNumberCode() }).expect(502);
      expect(down.body.code).toBe('WX_API_UNAVAILABLE');
    });
  });

  it('no session key, app secret, access token or code appears in any log line', () => {
    expect(h.logger.lines.length).toBeGreaterThan(5);
    const leaks = h.logger.lines.filter(
      (line) => line.includes(APP_SECRET) || /access[_-]?token=/.test(line),
    );
    expect(leaks).toEqual([]);
  });
});

describe('key rotation without a grace period, and racing logins', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('with keyRotationGraceSeconds: 0 data under the replaced key is rejected at once', async () => {
    h = await startHarness('express', { keyRotationGraceSeconds: 0 });
    const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
    await h.http().post('/auth/login').send({ code: user.login() }).expect(200);
    const before = user.getUserInfo();
    const { token } = (await h.http().post('/auth/login').send({ code: user.login() }).expect(200)).body;
    const res = await h
      .http()
      .post('/me/profile')
      .set('Authorization', `Bearer ${token}`)
      .send(before)
      .expect(401);
    expect(res.body.code).toBe('WX_OPEN_DATA_REJECTED');
  });

  it('racing logins of one user never leave the older key in the store (many interleavings)', async () => {
    const store = new DelayingStore(20_241_124);
    h = await startHarness('express', { sessionStore: store });
    const sessions = h.app.get(WxSessionService);
    for (let round = 0; round < 40; round++) {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID, openid: `o-race-${round}` });
      const codes = Array.from({ length: 2 + (round % 3) }, () => user.login());
      const logins = await Promise.all(codes.map((code) => sessions.login(code)));
      const active = await sessions.require(logins[0]?.token);
      expect(active.sessionKey).toBe(user.sessionKey());
    }
  });

  it('checkSessionKeyOnFailure tells a stale key from a forged payload in the log only', async () => {
    h = await startHarness('express', { checkSessionKeyOnFailure: true });
    const post = (token: string, body: object) =>
      h.http().post('/me/profile').set('Authorization', `Bearer ${token}`).send(body).expect(401);
    const forger = new MiniProgramClient(h.wechat, { appId: APP_ID });
    const forgerToken = (await h.http().post('/auth/login').send({ code: forger.login() }).expect(200)).body
      .token;
    const a = await post(forgerToken, { ...forger.getUserInfo(), signature: '0'.repeat(40) });
    await waitFor(
      () => h.logger.containing('the session key is valid, so the rejected payload was forged').length === 1,
    );
    // Another user logs in with WeChat behind the server's back: their stored key goes stale.
    const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
    const token = (await h.http().post('/auth/login').send({ code: user.login() }).expect(200)).body.token;
    await h.app.get(WxApiClient).code2Session(user.login());
    const b = await post(token, user.getUserInfo());
    expect(b.text).toBe(a.text);
    await waitFor(() => h.logger.containing('no longer valid at WeChat').length === 1);
    expect(h.logger.containing('the session key is valid, so the rejected payload was forged')).toHaveLength(
      1,
    );
  });
});

/** A memory store whose every call waits a seeded random 0–3 ms, shuffling racing logins' steps. */
class DelayingStore extends MemoryWxSessionStore {
  private state: number;
  constructor(seed: number) {
    super();
    this.state = seed;
  }
  private async pause(): Promise<void> {
    this.state = (this.state * 1_103_515_245 + 12_345) % 2 ** 31;
    await new Promise((resolve) => setTimeout(resolve, this.state % 4));
  }
  override async getUserKeys(userId: string) {
    await this.pause();
    return super.getUserKeys(userId);
  }
  override async setUserKeys(...args: Parameters<MemoryWxSessionStore['setUserKeys']>) {
    await this.pause();
    return super.setUserKeys(...args);
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
