import type { INestApplication } from '@nestjs/common';
import { MiniProgramClient } from 'nestjs-wx-open-data/testing';
import { pathToFileURL } from 'node:url';
import { playMoreFlows } from './demo-more.js';
import { startSample } from './main.js';
import { WECHAT_ENDPOINT, type WeChatEndpoint } from './wechat-endpoint.js';

/** One step of the demo: what was sent, what came back, whether that was what a user should see. */
export interface DemoStep {
  name: string;
  request: string;
  status: number;
  expectedStatus: number;
  result: string;
  ok: boolean;
  why?: string;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Plays a mini program user through every flow of the sample over real HTTP: login, profile,
 * phone (both flows), WeRun, share, one tampered request, logout. Needs the sample's embedded
 * fake WeChat, which is what lets it act as the user's phone.
 */
export async function runDemo(
  app: INestApplication,
  report: (step: DemoStep) => void = () => {},
): Promise<DemoStep[]> {
  const endpoint = app.get<WeChatEndpoint>(WECHAT_ENDPOINT);
  if (endpoint.fake === undefined) {
    throw new Error('the demo needs the embedded fake WeChat: unset WX_APP_SECRET and WX_API_BASE_URL');
  }
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const user = new MiniProgramClient(endpoint.fake, {
    appId: endpoint.appId,
    unionid: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
    profile: { nickName: 'Band', gender: 1, city: 'Guangzhou', province: 'Guangdong', country: 'CN' },
  });
  const steps: DemoStep[] = [];
  let token = '';

  const call = async (path: string, body: object, auth = true): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers['authorization'] = `Bearer ${token}`;
    const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };

  const step = async (
    name: string,
    path: string,
    sent: string,
    body: object,
    expectedStatus: number,
    check: (answer: Answer) => string | undefined,
    describe: (answer: Answer) => string,
    auth = true,
  ): Promise<Answer> => {
    const answer = await call(path, body, auth);
    const why =
      answer.status !== expectedStatus
        ? `expected ${expectedStatus}, got ${answer.status}: ${JSON.stringify(answer.body)}`
        : check(answer);
    const done: DemoStep = {
      name,
      request: `POST ${path} ${sent}`,
      status: answer.status,
      expectedStatus,
      result: why === undefined ? describe(answer) : '',
      ok: why === undefined,
      ...(why !== undefined && { why }),
    };
    steps.push(done);
    report(done);
    return answer;
  };

  const login = await step(
    'log in with a wx.login code',
    '/auth/login',
    '{ code }',
    { code: user.login() },
    200,
    (a) =>
      typeof a.body['token'] === 'string' && a.body['openid'] === user.openid
        ? undefined
        : 'no token or wrong openid',
    (a) =>
      `openid ${String(a.body['openid'])}, unionid ${String(a.body['unionid'])}, an opaque token (the session key stays on the server)`,
    false,
  );
  token = String(login.body['token'] ?? '');

  await step(
    'verified, decrypted user profile',
    '/me/profile',
    '{ rawData, signature, encryptedData, iv }',
    user.getUserInfo(),
    200,
    (a) =>
      a.body['openId'] === user.openid && a.body['nickName'] === 'Band'
        ? undefined
        : 'profile fields missing',
    (a) =>
      `WxUserInfo { nickName: ${String(a.body['nickName'])}, city: ${String(a.body['city'])}, openId matches the session }`,
  );
  await step(
    'phone number, old flow (encrypted)',
    '/me/phone',
    '{ encryptedData, iv }',
    user.getPhoneNumber('13580006666', 86),
    200,
    (a) =>
      a.body['countryCode'] === '86' && a.body['purePhoneNumber'] === '13580006666'
        ? undefined
        : 'wrong phone fields',
    (a) =>
      `WxPhoneNumber { purePhoneNumber: ${String(a.body['purePhoneNumber'])}, countryCode: "${String(a.body['countryCode'])}" (sent as the number 86) }`,
  );
  await step(
    'phone number, current flow (code for getuserphonenumber)',
    '/me/phone',
    '{ code }',
    { code: user.getPhoneNumberCode('13911112222') },
    200,
    (a) => (a.body['purePhoneNumber'] === '13911112222' ? undefined : 'wrong phone number'),
    (a) => `WxPhoneNumber { purePhoneNumber: ${String(a.body['purePhoneNumber'])} } from WeChat's answer`,
  );
  await step(
    'WeRun steps',
    '/me/werun',
    '{ encryptedData, iv }',
    user.getWeRunData(31),
    200,
    (a) =>
      Array.isArray(a.body['stepInfoList']) && a.body['stepInfoList'].length === 31
        ? undefined
        : 'expected 31 days',
    (a) => `WxWeRunData { stepInfoList: ${(a.body['stepInfoList'] as unknown[]).length} days }`,
  );
  await step(
    'group share info',
    '/groups/share',
    '{ encryptedData, iv }',
    user.getShareInfo('tGz3Xp4ZuyxYOVkPQeSlAe0WBaj4'),
    200,
    (a) => (a.body['openGId'] === 'tGz3Xp4ZuyxYOVkPQeSlAe0WBaj4' ? undefined : 'wrong openGId'),
    (a) => `{ openGId: ${String(a.body['openGId'])} }`,
  );
  await playMoreFlows((...args) => step(...args), user, endpoint.fake);
  const tampered = { ...user.getUserInfo(), rawData: JSON.stringify({ nickName: 'Mallory', gender: 1 }) };
  await step(
    'tampered rawData is rejected',
    '/me/profile',
    '{ rawData changed after signing, ... }',
    tampered,
    401,
    (a) => (a.body['code'] === 'WX_OPEN_DATA_REJECTED' ? undefined : 'expected the uniform rejection'),
    (a) => `${String(a.body['code'])}: the same answer as for any key-dependent failure`,
  );
  await step(
    'log out',
    '/auth/logout',
    '{}',
    {},
    204,
    () => undefined,
    () => 'session ended',
  );
  await step(
    'the token no longer works',
    '/me/profile',
    '{ rawData, signature, encryptedData, iv }',
    user.getUserInfo(),
    401,
    (a) => (a.body['code'] === 'WX_SESSION_REQUIRED' ? undefined : 'expected session required'),
    (a) => `${String(a.body['code'])}`,
  );
  return steps;
}

/** `npm run demo`: the sample on a free port, the demo, a line per step; exit 0 only if all passed. */
async function main(): Promise<void> {
  // Start-up chatter hidden; the library's warnings (why a request was rejected) stay visible.
  const app = await startSample(0, ['warn', 'error', 'fatal']);
  let failed = 0;
  try {
    const fake = app.get<WeChatEndpoint>(WECHAT_ENDPOINT).fake;
    console.log(
      `\nsample app on ${await app.getUrl()}, embedded fake WeChat on ${fake?.baseUrl ?? '(none)'}`,
    );
    console.log('playing a mini program user:\n');
    const steps = await runDemo(app, (s) => {
      const mark = s.ok ? 'ok  ' : 'FAIL';
      console.log(
        `${mark} ${s.name}\n     ${s.request} → ${s.status}${s.ok ? `  ${s.result}` : `\n     why: ${s.why}`}`,
      );
    });
    failed = steps.filter((s) => !s.ok).length;
    console.log(`\n${steps.length - failed} passed, ${failed} failed`);
  } finally {
    await app.close();
  }
  process.exitCode = failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
