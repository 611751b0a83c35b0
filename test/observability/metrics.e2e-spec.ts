import type { INestApplication } from '@nestjs/common';
import { MiniProgramClient } from 'nestjs-wx-open-data/testing';
import { startSample } from '../../sample/src/main.js';
import { WECHAT_ENDPOINT, type WeChatEndpoint } from '../../sample/src/wechat-endpoint.js';

/**
 * The sample's Prometheus endpoint after a scripted run against its embedded fake WeChat: each
 * counter holds exactly what the script did, and no label carries an openid, a unionid, a token
 * or a session key.
 */
describe('metrics at the sample /metrics (OpenTelemetry, Prometheus exporter)', () => {
  let app: INestApplication;
  let baseUrl: string;
  let user: MiniProgramClient;

  beforeAll(async () => {
    delete process.env['WX_APP_SECRET'];
    delete process.env['WX_API_BASE_URL'];
    delete process.env['SAMPLE_IDENTITY'];
    app = await startSample(0, []);
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const endpoint = app.get<WeChatEndpoint>(WECHAT_ENDPOINT);
    if (endpoint.fake === undefined) throw new Error('the sample did not start its fake WeChat');
    user = new MiniProgramClient(endpoint.fake, {
      appId: endpoint.appId,
      unionid: 'oMetricsUnionid0123456789abc',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  const post = async (
    path: string,
    body: object,
    token?: string,
  ): Promise<{ status: number; body: unknown }> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as unknown) };
  };

  /** The value of the sample `name{labels…}` in Prometheus text, 0 when absent. */
  const sample = (text: string, name: string, labels: Record<string, string>): number => {
    const line = text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .find((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('counts what a scripted run did, by reason, with no identity in any label', async () => {
    const login = await post('/auth/login', { code: user.login() });
    expect(login.status).toBe(200);
    const { token, openid } = login.body as { token: string; openid: string };
    const profile = user.getUserInfo();
    expect((await post('/me/profile', profile, token)).status).toBe(200);
    expect((await post('/me/profile', user.getUserInfo(), token)).status).toBe(200);
    // A replay of the first payload, a forged signature and a missing token.
    expect((await post('/me/profile', profile, token)).status).toBe(401);
    expect(
      (await post('/me/profile', { ...user.getUserInfo(), signature: '0'.repeat(40) }, token)).status,
    ).toBe(401);
    expect((await post('/me/profile', user.getUserInfo())).status).toBe(401);
    // The encrypted channel (@WxUserEncrypted()): a body it opens, and one flipped in its last byte.
    expect((await post('/secure/echo', user.encryptForServer({ order: 1 }), token)).status).toBe(200);
    const sealed = user.encryptForServer({ order: 2 });
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    expect(
      (await post('/secure/echo', { ...sealed, ciphertext: flipped.toString('base64') }, token)).status,
    ).toBe(401);
    // A login code WeChat refuses.
    expect((await post('/auth/login', { code: 'an-unknown-code' })).status).toBe(401);

    const scrape = await fetch(`${baseUrl}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    const verifications = 'wx_open_data_verifications_total';
    expect(sample(text, verifications, { outcome: 'verified', reason: 'ok', context: 'http' })).toBe(3);
    expect(sample(text, verifications, { outcome: 'rejected', reason: 'WX_OPEN_DATA_REJECTED' })).toBe(3);
    expect(sample(text, verifications, { outcome: 'rejected', reason: 'WX_SESSION_REQUIRED' })).toBe(1);
    expect(sample(text, 'wx_open_data_replay_refusals_total', {})).toBe(1);
    expect(sample(text, 'wx_open_data_logins_total', { result: 'ok' })).toBe(1);
    expect(sample(text, 'wx_open_data_logins_total', { result: '40029' })).toBe(1);
    expect(
      sample(text, 'wx_open_data_wechat_call_duration_count', { operation: 'code2Session', outcome: 'ok' }),
    ).toBe(1);
    expect(
      sample(text, 'wx_open_data_store_call_duration_count', { operation: 'claimPayload', answered: 'true' }),
    ).toBe(3);
    // Identities and secrets never become labels.
    for (const secret of [openid, 'oMetricsUnionid0123456789abc', token, user.sessionKey()]) {
      expect(text).not.toContain(secret);
    }
  });
});
