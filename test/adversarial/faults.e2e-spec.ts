/**
 * Issue 6, faults: a broken WeChat behind a real app, over real HTTP on both adapters.
 *
 * The fake WeChat refuses connections, resets them, answers slower than the timeout, answers
 * garbage JSON, an HTML error page, or `-1` (busy) every time. The login and the phone-code
 * flows must answer the documented 502 or 504 within the API timeout (plus scheduling slack),
 * never hang, never answer 500, and recover at once when WeChat is back. No secret (app secret,
 * access token, login or phone code, session key) may reach a log line, an error or a response.
 */
import { inspect } from 'node:util';
import { WxApiClient, WxOpenDataError } from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient, type FakeWeChatMode } from '../../lib/testing/index.js';
import { ADAPTERS } from '../support/nest-app.js';
import {
  APP_SECRET,
  ProbedSessionRoute,
  OpenDataRoutes,
  OTHER_APP_SECRET,
  startAdversarialApp,
  type AdversarialApp,
} from './support/app.js';
import { APP_ID } from './support/bodies.js';
import { NoAnswerError, runPool, type RawResponse } from './support/http.js';
import { rejectionCanary, watchProcess } from './support/process-watch.js';
import { RunSummary } from './support/results.js';
import { SecretLedger } from './support/secrets.js';
import { AuthTestRoutes } from '../support/auth-routes.js';

/** The API budget the apps under test get: small, so the suite stays fast. */
const API_TIMEOUT_MS = 400;
/** What an answer may take beyond the budget: event-loop and scheduling delay on a busy CI box. */
const SLACK_MS = 1_000;
/** How slow the slow WeChat is: well past the budget. */
const SLOW_DELAY_MS = 2_500;
/** Requests in flight at once per scenario, on top of the sequential ones. */
const CONCURRENT = 6;

const summary = new RunSummary('faults');
const ledger = new SecretLedger();
ledger.addSecret('app secret', APP_SECRET);
ledger.addSecret('other app secret', OTHER_APP_SECRET);
const events = watchProcess();
afterAll(() => {
  events.stop();
  const { file, fragment } = summary.write();
  console.log(`adversarial summary (${file}):\n${JSON.stringify(fragment.categories, null, 2)}`);
});

it('the process watcher hears an unhandled rejection (canary, so the final check can fail)', async () => {
  expect(await rejectionCanary(events)).toBe(true);
});

const SCENARIOS: ReadonlyArray<[string, FakeWeChatMode, number, string]> = [
  ['refusing connections', 'refuse', 502, 'WX_API_UNAVAILABLE'],
  ['resetting connections', 'reset', 502, 'WX_API_UNAVAILABLE'],
  ['slower than the timeout', 'slow', 504, 'WX_API_TIMEOUT'],
  ['answering garbage JSON', 'garbage', 502, 'WX_API_UNAVAILABLE'],
  ['answering an HTML error page', 'html', 502, 'WX_API_UNAVAILABLE'],
  ['answering -1 (system busy) every time', 'busy', 502, 'WX_API_ERROR'],
];

describe.each(ADAPTERS)('WeChat faults behind a real app (%s)', (adapter) => {
  let wechat: FakeWeChatServer;
  let h: AdversarialApp;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    h = await startAdversarialApp(adapter, {
      controllers: [AuthTestRoutes, ProbedSessionRoute, OpenDataRoutes],
      module: { apiBaseUrl, apiTimeoutMs: API_TIMEOUT_MS },
    });
    ledger.watchLogger(`${adapter} faults`, h.logger);
  });
  afterEach(async () => {
    await wechat.setMode('normal');
    wechat.clearFaults();
  });
  afterAll(async () => {
    summary.record('wechatFaults', adapter, figures);
    await h.close();
    await wechat.stop();
  });

  const keep = (res: RawResponse): RawResponse => {
    ledger.recordResponse(`${adapter} faults`, res);
    return res;
  };
  const loginCode = (user: MiniProgramClient): string => {
    const code = user.login();
    ledger.addSecret('login code', code);
    return code;
  };
  const phoneCode = (user: MiniProgramClient): string => {
    const code = user.getPhoneNumberCode('13912345678');
    ledger.addSecret('phone code', code);
    return code;
  };
  const postLogin = async (code: string): Promise<RawResponse> =>
    keep(
      await h.client.send({
        path: '/auth/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      }),
    );
  const postPhoneCode = async (token: string, code: string): Promise<RawResponse> =>
    keep(
      await h.client.send({
        path: '/me/phone-code',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ code }),
      }),
    );
  /** Adds the access token the app holds now to the secrets searched for (WeChat works again). */
  const collectAccessToken = async (): Promise<void> => {
    const token = await h.app.get(WxApiClient).getAccessToken();
    expect(token.length).toBeGreaterThan(20);
    ledger.addSecret('access token', token);
  };
  /** A logged-in user and their token, made while WeChat works. */
  const loggedIn = async (): Promise<{ user: MiniProgramClient; token: string }> => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const res = await postLogin(loginCode(user));
    expect(res.status).toBe(200);
    ledger.addSessionKey(user.sessionKey(), `${adapter} ${user.openid} key`);
    return { user, token: (JSON.parse(res.text) as { token: string }).token };
  };

  /** Sends `count` requests sequentially and `CONCURRENT` at once; returns what came back and how fast. */
  async function underFault(
    sequential: number,
    send: () => Promise<RawResponse>,
  ): Promise<{
    statuses: Record<string, number>;
    codes: Set<string>;
    slowestMs: number;
    failures: string[];
  }> {
    const statuses: Record<string, number> = {};
    const codes = new Set<string>();
    const failures: string[] = [];
    let slowestMs = 0;
    const one = async (): Promise<void> => {
      try {
        const res = await send();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        slowestMs = Math.max(slowestMs, res.ms);
        codes.add(String((JSON.parse(res.text) as { code?: unknown }).code));
      } catch (error) {
        failures.push(error instanceof NoAnswerError ? `no answer: ${error.reason}` : String(error));
      }
    };
    for (let i = 0; i < sequential; i++) await one();
    await runPool(
      Array.from({ length: CONCURRENT }, (_, i) => i),
      CONCURRENT,
      30_000,
      one,
    );
    return { statuses, codes, slowestMs: Math.round(slowestMs), failures };
  }

  describe.each(SCENARIOS)('WeChat %s', (name, mode, status, code) => {
    it(`login → ${status} ${code} within the timeout, never a hang or a 500; then recovers`, async () => {
      const users = Array.from(
        { length: 3 + CONCURRENT },
        () => new MiniProgramClient(wechat, { appId: APP_ID }),
      );
      const codes = users.map(loginCode);
      await wechat.setMode(mode, { delayMs: SLOW_DELAY_MS });
      let next = 0;
      const result = await underFault(3, () => postLogin(codes[next++] as string));
      await wechat.setMode('normal');
      const recovered = new MiniProgramClient(wechat, { appId: APP_ID });
      const recovery = await postLogin(loginCode(recovered));
      if (recovery.status === 200)
        ledger.addSessionKey(recovered.sessionKey(), `${adapter} recovery user key`);
      figures[`login, ${name}`] = { ...result, codes: [...result.codes], recoveryStatus: recovery.status };
      expect(result.failures).toEqual([]);
      expect(result.statuses).toEqual({ [status]: 3 + CONCURRENT });
      expect([...result.codes]).toEqual([code]);
      expect(result.slowestMs).toBeLessThan(API_TIMEOUT_MS + SLACK_MS);
      expect(recovery.status).toBe(200);
    });

    it(`phone-code flow → ${status} ${code} within the timeout, never a hang or a 500; then recovers`, async () => {
      const { user, token } = await loggedIn();
      const codes = Array.from({ length: 3 + CONCURRENT }, () => phoneCode(user));
      await wechat.setMode(mode, { delayMs: SLOW_DELAY_MS });
      let next = 0;
      const result = await underFault(3, () => postPhoneCode(token, codes[next++] as string));
      await wechat.setMode('normal');
      const recovery = await postPhoneCode(token, phoneCode(user));
      await collectAccessToken();
      figures[`phone code, ${name}`] = {
        ...result,
        codes: [...result.codes],
        recoveryStatus: recovery.status,
      };
      expect(result.failures).toEqual([]);
      expect(result.statuses).toEqual({ [status]: 3 + CONCURRENT });
      expect([...result.codes]).toEqual([code]);
      expect(result.slowestMs).toBeLessThan(API_TIMEOUT_MS + SLACK_MS);
      expect(recovery.status).toBe(200);
    });

    it('the client errors carry no secret, no URL and no cause', async () => {
      const user = new MiniProgramClient(wechat, { appId: APP_ID });
      const code = loginCode(user);
      // A client of its own, without the app's cached access token, so the token fetch meets the fault.
      const client = new WxApiClient({
        appId: APP_ID,
        appSecret: APP_SECRET,
        apiBaseUrl: wechat.baseUrl,
        timeoutMs: API_TIMEOUT_MS,
      });
      await wechat.setMode(mode, { delayMs: SLOW_DELAY_MS });
      const errors: unknown[] = [];
      await client.code2Session(code).catch((error: unknown) => errors.push(error));
      await client.getAccessToken().catch((error: unknown) => errors.push(error));
      await client.getPhoneNumber(phoneCode(user), user.openid).catch((error: unknown) => errors.push(error));
      expect(errors).toHaveLength(3);
      for (const error of errors) {
        expect(error).toBeInstanceOf(WxOpenDataError);
        const text = `${inspect(error, { depth: 5, showHidden: true })}\n${JSON.stringify(error)}\n${(error as Error).stack}`;
        ledger.recordText(`${adapter} ${mode} error`, text);
        expect(text).not.toMatch(/https?:\/\//);
        expect((error as Error).cause).toBeUndefined();
      }
    });
  });

  it('-1 once is retried: login and phone code succeed', async () => {
    const { user, token } = await loggedIn();
    wechat.failNext('/sns/jscode2session', { errcode: -1 });
    const login = await postLogin(loginCode(new MiniProgramClient(wechat, { appId: APP_ID })));
    wechat.failNext('/wxa/business/getuserphonenumber', { errcode: -1 });
    const phone = await postPhoneCode(token, phoneCode(user));
    await collectAccessToken();
    figures['-1 once'] = { login: login.status, phoneCode: phone.status };
    expect([login.status, phone.status]).toEqual([200, 200]);
  });
});

it('no unhandled rejection or uncaught exception fired during the suite', () => {
  expect(events.unhandledRejections).toEqual([]);
  expect(events.uncaughtExceptions).toEqual([]);
});

it('no app secret, access token, login or phone code, or session key appears in any log line, error or response', () => {
  const { responses, logLines, distinctTexts } = ledger.recorded;
  expect(responses).toBeGreaterThan(200);
  expect(logLines).toBeGreaterThan(100);
  expect(distinctTexts).toBeGreaterThan(20);
  expect(ledger.leaks()).toEqual([]);
});
