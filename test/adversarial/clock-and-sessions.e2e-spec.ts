/**
 * Issue 6, bad input: the watermark's clock edges and session fixation, over real HTTP on both
 * adapters.
 *
 * The Nest layer has no injectable clock (the interceptor lets `checkWatermark` read
 * `Date.now()`), so the watermark tests freeze `Date.now` of the test realm with `jest.spyOn`,
 * only for the duration of each test: no fake timers, so sockets and timeouts keep real time.
 * Payloads are then built with timestamps at exact offsets from the frozen second.
 */
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { MemoryWxSessionStore, WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { ADAPTERS } from '../support/nest-app.js';
import {
  APP_SECRET,
  ProbedSessionRoute,
  OpenDataRoutes,
  OTHER_APP_SECRET,
  startAdversarialApp,
  type AdversarialApp,
} from './support/app.js';
import { APP_ID, encryptText, seededBytes, seededSessionKey } from './support/bodies.js';
import { SEED } from './support/env.js';
import { answerKey, runPool, type RawResponse } from './support/http.js';
import { rejectionCanary, watchProcess } from './support/process-watch.js';
import { RunSummary } from './support/results.js';
import { SecretLedger } from './support/secrets.js';
import { AuthTestRoutes } from '../support/auth-routes.js';

const summary = new RunSummary('clock-and-sessions');
const ledger = new SecretLedger();
ledger.addSecret('app secret', APP_SECRET);
ledger.addSecret('other app secret', OTHER_APP_SECRET);
const events = watchProcess();
afterAll(() => {
  events.stop();
  const { file, fragment } = summary.write();
  console.log(`adversarial summary (${file}):\n${JSON.stringify(fragment.categories, null, 2)}`);
});

const REJECTED = {
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_OPEN_DATA_REJECTED',
  message: 'WeChat open data rejected',
};

it('the process watcher hears an unhandled rejection (canary, so the final check can fail)', async () => {
  expect(await rejectionCanary(events)).toBe(true);
});

/** Freezes `Date.now` at `ms` until the returned function is called. */
function freezeClock(ms: number): () => void {
  const spy = jest.spyOn(Date, 'now').mockReturnValue(ms);
  return () => spy.mockRestore();
}

describe.each(ADAPTERS)('watermark clock edges with a frozen clock (%s)', (adapter) => {
  const apps: Record<'default' | 'narrow' | 'off', AdversarialApp | undefined> = {
    default: undefined,
    narrow: undefined,
    off: undefined,
  };
  const owner = {
    openid: 'oClockUser00000000000000000001',
    sessionKey: seededSessionKey(`clock:${adapter}`),
  };
  const figures: Record<string, unknown> = {};
  let thaw: (() => void) | undefined;

  beforeAll(async () => {
    ledger.addSessionKey(owner.sessionKey, `${adapter} clock user key`);
    // The key-attempt budget is per user key, shared by every session of it: the many refused
    // watermarks under one key would spend it, and later answers would show the budget, not the
    // payload's verdict. The budget has its own attack suite (key-budget.e2e-spec.ts).
    const noBudget = { maxKeyFailures: false } as const;
    apps.default = await startAdversarialApp(adapter, { module: noBudget });
    apps.narrow = await startAdversarialApp(adapter, {
      module: { ...noBudget, watermarkMaxAgeSeconds: 10, clockToleranceSeconds: 0 },
    });
    apps.off = await startAdversarialApp(adapter, { module: { ...noBudget, watermarkMaxAgeSeconds: false } });
    for (const [name, h] of Object.entries(apps)) {
      ledger.watchLogger(`${adapter} ${name}`, (h as AdversarialApp).logger);
    }
  });
  afterEach(() => {
    thaw?.();
    thaw = undefined;
  });
  afterAll(async () => {
    summary.record('watermarkClock', adapter, figures);
    for (const h of Object.values(apps)) await h?.close();
  });

  const app = (name: keyof typeof apps): AdversarialApp => apps[name] as AdversarialApp;
  let payloads = 0;
  /** A share payload whose watermark timestamp is `timestamp` (any JSON value); a new iv each time. */
  const shareAt = (timestamp: unknown) =>
    encryptText(
      JSON.stringify({ openGId: 'tGclockGroup', watermark: { timestamp, appid: APP_ID } }),
      owner.sessionKey,
      seededBytes(`clock:${adapter}:${(payloads += 1)}`),
    );
  /**
   * Posts with a new session each time: the library revokes a session after a few key-dependent
   * failures (a refused watermark is one), and each answer must be the payload's own verdict.
   */
  const send = async (name: keyof typeof apps, body: object): Promise<RawResponse> => {
    const token = await app(name).sessions.create(owner);
    const res = await app(name).client.send({
      path: '/share',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    ledger.recordResponse(`${adapter} clock`, res);
    return res;
  };

  /** Sends one payload per offset from the frozen second; returns the accepted offsets. */
  async function acceptedOffsets(
    name: keyof typeof apps,
    second: number,
    offsets: readonly number[],
  ): Promise<{ accepted: number[]; rejectedAnswers: Set<string> }> {
    const accepted: number[] = [];
    const rejectedAnswers = new Set<string>();
    const { completed } = await runPool(offsets, 8, 60_000, async (offset) => {
      const res = await send(name, shareAt(second + offset));
      if (res.status === 200) accepted.push(offset);
      else rejectedAnswers.add(answerKey(res));
    });
    expect(completed).toBe(offsets.length);
    return { accepted: accepted.sort((a, b) => a - b), rejectedAnswers };
  }

  const range = (from: number, to: number): number[] =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it.each([0, 1, 500, 999])(
    'default window, clock frozen at a whole second + %i ms: exactly now-300 .. now+60 pass',
    async (milliseconds) => {
      const second = Math.floor(Date.now() / 1000);
      thaw = freezeClock(second * 1000 + milliseconds);
      const offsets = range(-330, 90);
      const { accepted, rejectedAnswers } = await acceptedOffsets('default', second, offsets);
      figures[`default window, +${milliseconds} ms`] = {
        offsetsTried: `${offsets[0]}..${offsets.at(-1)}`,
        requests: offsets.length,
        accepted: `${accepted[0]}..${accepted.at(-1)} (${accepted.length})`,
        distinctRejections: rejectedAnswers.size,
      };
      expect(accepted).toEqual(range(-300, 60));
      expect([...rejectedAnswers].map((key) => JSON.parse(key.split('\n')[2] as string))).toEqual([REJECTED]);
    },
    60_000,
  );

  it('watermarkMaxAgeSeconds 10 and clockToleranceSeconds 0: exactly now-10 .. now pass', async () => {
    const second = Math.floor(Date.now() / 1000);
    thaw = freezeClock(second * 1000 + 999);
    const { accepted } = await acceptedOffsets('narrow', second, range(-40, 20));
    figures['maxAge 10, tolerance 0'] = { requests: 61, accepted: `${accepted[0]}..${accepted.at(-1)}` };
    expect(accepted).toEqual(range(-10, 0));
  });

  it('watermarkMaxAgeSeconds false switches the clock check off, not the watermark check', async () => {
    const second = Math.floor(Date.now() / 1000);
    thaw = freezeClock(second * 1000);
    const { accepted } = await acceptedOffsets('off', second, [-100_000_000, -301, 0, 61, 100_000_000]);
    expect(accepted).toEqual([-100_000_000, -301, 0, 61, 100_000_000]);
    const missing = await send('off', shareAt(undefined));
    expect(missing.status).toBe(401);
  });

  it('malformed timestamps are refused with the same 401, at any clock', async () => {
    const second = Math.floor(Date.now() / 1000);
    thaw = freezeClock(second * 1000 + 500);
    const malformed: unknown[] = [
      second - 0.5,
      second + 0.25,
      String(second),
      `${second}`.padStart(12, '0'),
      -1,
      null,
      true,
      [second],
      { value: second },
      2 ** 53,
      1e308,
      undefined,
      ...fc.sample(fc.double({ noInteger: true, noNaN: true }), { seed: SEED, numRuns: 20 }),
    ];
    const answers = new Set<string>();
    for (const timestamp of malformed) {
      answers.add(answerKey(await send('default', shareAt(timestamp))));
    }
    figures['malformed timestamps'] = { requests: malformed.length, distinctAnswers: answers.size };
    expect([...answers].map((key) => JSON.parse(key.split('\n')[2] as string))).toEqual([REJECTED]);
  });
});

describe.each(ADAPTERS)('session fixation and dead tokens (%s)', (adapter) => {
  let wechat: FakeWeChatServer;
  let h: AdversarialApp;
  let storeClock = Date.now();
  const figures: Record<string, unknown> = {};
  const TTL_SECONDS = 600;

  beforeAll(async () => {
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    h = await startAdversarialApp(adapter, {
      controllers: [AuthTestRoutes, ProbedSessionRoute, OpenDataRoutes],
      module: {
        apiBaseUrl,
        sessionTtlSeconds: TTL_SECONDS,
        sessionStore: new MemoryWxSessionStore({ now: () => storeClock }),
      },
    });
    ledger.watchLogger(`${adapter} sessions`, h.logger);
  });
  afterAll(async () => {
    summary.record('sessionFixation', adapter, figures);
    await h.close();
    await wechat.stop();
  });

  const keep = (res: RawResponse): RawResponse => {
    ledger.recordResponse(`${adapter} sessions`, res);
    return res;
  };
  const code = (user: MiniProgramClient): string => {
    const issued = user.login();
    ledger.addSecret('login code', issued);
    return issued;
  };
  const login = async (
    user: MiniProgramClient,
    extra: { headers?: Record<string, string>; body?: Record<string, unknown> } = {},
  ): Promise<string> => {
    const res = keep(
      await h.client.send({
        path: '/auth/login',
        headers: { 'content-type': 'application/json', ...extra.headers },
        body: JSON.stringify({ code: code(user), ...extra.body }),
      }),
    );
    expect(res.status).toBe(200);
    ledger.addSessionKey(user.sessionKey(), `${adapter} ${user.openid} key`);
    return (JSON.parse(res.text) as { token: string }).token;
  };
  const me = async (token: string): Promise<RawResponse> =>
    keep(await h.client.send({ method: 'GET', path: '/me', headers: { authorization: `Bearer ${token}` } }));
  const logout = async (token: string): Promise<RawResponse> =>
    keep(await h.client.send({ path: '/auth/logout', headers: { authorization: `Bearer ${token}` } }));
  let unknownTokenAnswer: string;

  beforeAll(async () => {
    unknownTokenAnswer = answerKey(await me('U'.repeat(43)));
  });

  it('the token changes at every login, and every token is 256 bits of base64url', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const tokens: string[] = [];
    for (let i = 0; i < 12; i++) tokens.push(await login(user));
    const others = [
      await login(new MiniProgramClient(wechat, { appId: APP_ID })),
      await login(new MiniProgramClient(wechat, { appId: APP_ID })),
    ];
    figures['logins'] = { sameUser: tokens.length, distinctTokens: new Set([...tokens, ...others]).size };
    expect(new Set([...tokens, ...others]).size).toBe(tokens.length + others.length);
    for (const token of [...tokens, ...others]) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Every session of the user stays usable (with the user's current key) until it ends.
    for (const token of tokens) expect((await me(token)).status).toBe(200);
  });

  it('a token the client presents at login is never adopted: a fresh one is issued, the presented one stays dead', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const current = await login(user);
    const chosen = 'AttackerChosenToken_0123456789abcdefghijklm';
    expect(chosen).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const viaHeader = await login(user, { headers: { authorization: `Bearer ${chosen}` } });
    const viaBody = await login(user, { body: { token: chosen, sessionToken: chosen } });
    const viaCurrent = await login(user, { headers: { authorization: `Bearer ${current}` } });
    const viaCookie = await login(user, { headers: { cookie: `token=${chosen}; session=${chosen}` } });
    const issued = [viaHeader, viaBody, viaCurrent, viaCookie];
    expect(issued).not.toContain(chosen);
    expect(issued).not.toContain(current);
    expect(new Set(issued).size).toBe(issued.length);
    expect(answerKey(await me(chosen))).toBe(unknownTokenAnswer);
    figures['presented tokens adopted'] = 0;
  });

  it('a token is dead after logout, for every route, and stays dead after the user logs in again', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const other = await login(user);
    const token = await login(user);
    expect((await me(token)).status).toBe(200);
    expect((await logout(token)).status).toBe(204);
    const after = [
      await me(token),
      await logout(token),
      keep(
        await h.client.send({
          path: '/share',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(user.getShareInfo()),
        }),
      ),
    ];
    for (const res of after) {
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'WX_SESSION_REQUIRED' });
    }
    // Exactly the answer of a token that never existed: nothing tells a dead token from a forged one.
    expect(answerKey(after[0] as RawResponse)).toBe(unknownTokenAnswer);
    const again = await login(user);
    expect((await me(again)).status).toBe(200);
    expect((await me(token)).status).toBe(401);
    // Logout ends that one session only.
    expect((await me(other)).status).toBe(200);
    figures['logout'] = { deadAfterLogout: true, routesChecked: after.length };
  });

  it('a token is dead after server-side revocation, even with valid open data', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    const body = JSON.stringify(user.getShareInfo());
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    expect(keep(await h.client.send({ path: '/share', headers, body })).status).toBe(200);
    await h.sessions.revoke(token);
    const res = keep(await h.client.send({ path: '/share', headers, body }));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'WX_SESSION_REQUIRED' });
    expect(answerKey(await me(token))).toBe(unknownTokenAnswer);
    figures['revocation'] = { deadAfterRevocation: true };
  });

  it('a token is dead once it reached maxKeyFailures key-dependent failures (automatic revocation)', async () => {
    const { maxKeyFailures } = h.app.get<WxOpenDataConfig>(WX_OPEN_DATA_CONFIG);
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    const limit = maxKeyFailures === false ? 20 : maxKeyFailures;
    const forged = JSON.stringify({ rawData: '{"nickName":"x"}', signature: '0'.repeat(40) });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const answers: string[] = [];
    for (let i = 0; i < limit; i++) {
      answers.push(answerKey(keep(await h.client.send({ path: '/plain', headers, body: forged }))));
    }
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse((answers[0] as string).split('\n')[2] as string)).toEqual(REJECTED);
    const after = await me(token);
    figures['maxKeyFailures'] = { limit: maxKeyFailures, failuresSent: limit, statusAfter: after.status };
    if (maxKeyFailures === false) expect(after.status).toBe(200);
    else expect(answerKey(after)).toBe(unknownTokenAnswer);
  });

  it('a token is dead once its TTL has passed (store clock moved, no waiting)', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    const start = storeClock;
    try {
      storeClock = start + TTL_SECONDS * 1000 - 1;
      expect((await me(token)).status).toBe(200);
      storeClock = start + TTL_SECONDS * 1000;
      expect(answerKey(await me(token))).toBe(unknownTokenAnswer);
    } finally {
      storeClock = start;
    }
    // Expired means removed: moving the clock back does not revive it.
    expect((await me(token)).status).toBe(401);
    figures['expiry'] = { ttlSeconds: TTL_SECONDS, aliveAt: 'ttl - 1 ms', deadAt: 'ttl' };
  });

  it('altered tokens are unknown tokens: same 401 as a token that never existed', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const token = await login(user);
    const flipCase = (t: string, i: number): string =>
      t.slice(0, i) +
      (t[i] === t[i]?.toUpperCase() ? t[i]?.toLowerCase() : t[i]?.toUpperCase()) +
      t.slice(i + 1);
    const altered = [
      token.slice(0, -1),
      `${token}A`,
      token.slice(1),
      flipCase(token, token.search(/[A-Za-z]/)),
      token.replace(/[A-Za-z0-9]/, (c) => (c === 'A' ? 'B' : 'A')),
      Buffer.from(token, 'base64url').toString('base64'),
      encodeURIComponent(`${token} `),
    ].filter((t) => t !== token);
    const answers = new Set<string>();
    for (const candidate of altered) answers.add(answerKey(await me(candidate)));
    figures['altered tokens'] = { tried: altered.length, distinctAnswers: answers.size };
    expect([...answers]).toEqual([unknownTokenAnswer]);
    expect((await me(token)).status).toBe(200);
  });
});

it('no unhandled rejection or uncaught exception fired during the suite', () => {
  expect(events.unhandledRejections).toEqual([]);
  expect(events.uncaughtExceptions).toEqual([]);
});

it('no session key (base64 or hex), app secret or login code appears in any log line or response', () => {
  const { responses, logLines } = ledger.recorded;
  expect(responses).toBeGreaterThan(3_000);
  expect(logLines).toBeGreaterThan(300);
  expect(ledger.leaks()).toEqual([]);
});
