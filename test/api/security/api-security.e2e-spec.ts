import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  WxApiAnswerRejectedError,
  WxApiError,
  WxApiSecurityRefusedError,
  type WxApiClientOptions,
  type WxFetch,
} from '../../../lib/api/index.js';
import {
  createApiSecurityTestKeys,
  createFakePlatformCredentials,
  type FakeAnswerTampering,
} from '../../../lib/testing/index.js';
import { APP, FakeWeChatHarness, OTHER_APP } from '../fake-wechat-harness.js';

// RSA keys are made once for the file: the app's, and the platform's (two, for a rotation).
const keys = createApiSecurityTestKeys();
const outgoing = keys.platform;
const incoming = createFakePlatformCredentials();
const PHONE = '/wxa/business/getuserphonenumber';

/** What went over the wire, to show that nothing protected travels in the clear. */
interface Wire {
  bodies: string[];
  answers: string[];
  answerHeaders: Headers[];
}

function recording(wire: Wire): WxFetch {
  return async (input, init) => {
    if (typeof init.body === 'string') wire.bodies.push(init.body);
    const response = await fetch(input, init);
    wire.answers.push(await response.clone().text());
    wire.answerHeaders.push(response.headers);
    return response;
  };
}

describe('API security mode through the fake WeChat', () => {
  const harness = new FakeWeChatHarness({ apps: [{ ...APP, apiSecurity: keys.fake }, OTHER_APP] });
  const secured = (overrides: Partial<WxApiClientOptions> = {}) =>
    harness.client({ apiSecurity: keys.client, ...overrides });

  beforeAll(() => harness.start());
  afterAll(() => harness.stop());

  it('getPhoneNumber: encrypted and signed on the way out, verified and decrypted on the way back', async () => {
    const wire: Wire = { bodies: [], answers: [], answerHeaders: [] };
    const client = secured({ fetch: recording(wire) });
    const code = harness.issuePhoneCode({ phoneNumber: '13912345678' });
    const phone = await client.getPhoneNumber(code);
    expect(phone).toMatchObject({ phoneNumber: '13912345678', watermark: { appid: APP.appId } });
    expect(phone).not.toHaveProperty('_n');
    const sent = wire.bodies.at(-1) as string;
    expect(Object.keys(JSON.parse(sent))).toEqual(['iv', 'data', 'authtag']);
    expect(sent).not.toContain(code);
    const answer = wire.answers.at(-1) as string;
    expect(answer).not.toContain('13912345678');
    expect(wire.answerHeaders.at(-1)?.get('wechatmp-serial')).toBe(keys.platform.sn);
  });

  it('passes the openid inside the ciphertext too: a code for another user is refused', async () => {
    const client = secured();
    const code = harness.issuePhoneCode({ openid: 'o-owner' });
    const error = await harness.errorOf(client.getPhoneNumber(code, 'o-somebody-else'));
    expect(error).toBeInstanceOf(WxApiError);
    expect((error as WxApiError).errcode).toBe(40003);
  });

  it('leaves the calls without the mode as they were (code2Session, checkSessionKey, resetUserSessionKey)', async () => {
    const client = secured();
    const login = await client.code2Session(harness.issueCode({ openid: 'o-plain-calls' }));
    expect(await client.checkSessionKey(login.openid, login.sessionKey)).toBe(true);
    const next = await client.resetUserSessionKey(login.openid, login.sessionKey);
    expect(await client.checkSessionKey(login.openid, next)).toBe(true);
  });

  describe.each<[FakeAnswerTampering, string]>([
    ['bad-signature', 'bad-signature'],
    ['wrong-serial', 'unknown-serial'],
    ['stale-timestamp', 'stale'],
    ['tampered-tag', 'decryption-failed'],
    ['unsigned', 'unsigned'],
    ['mismatched-timestamp', 'timestamp-mismatch'],
    ['wrong-appid', 'appid-mismatch'],
  ])('an answer with %s', (tampering, reason) => {
    it(`is refused (${reason}) and nothing of it reaches the caller`, async () => {
      const client = secured();
      const code = harness.issuePhoneCode({ phoneNumber: '13700000000' });
      harness.fake.tamperNextAnswer(PHONE, tampering);
      const error = await harness.errorOf(client.getPhoneNumber(code));
      expect(error).toBeInstanceOf(WxApiAnswerRejectedError);
      expect((error as WxApiAnswerRejectedError).reason).toBe(reason);
      expect((error as Error).message).not.toContain('13700000000');
      expect(harness.fake.requestCount(PHONE)).toBeGreaterThan(0);
    });
  });

  describe('requests WeChat refuses, with what to fix', () => {
    const otherKeys = createApiSecurityTestKeys({ platform: keys.platform });

    it.each<[string, number, () => Partial<WxApiClientOptions>]>([
      ['no apiSecurity while the console has it on', 40233, () => ({})],
      [
        'a private key the console does not know',
        40234,
        () => ({ apiSecurity: { ...keys.client, privateKey: otherKeys.client.privateKey } }),
      ],
      [
        'another symmetric key',
        40235,
        () => ({ apiSecurity: { ...keys.client, symmetricKey: otherKeys.client.symmetricKey } }),
      ],
      [
        'the symmetric key under another number',
        40235,
        () => ({ apiSecurity: { ...keys.client, symmetricKeySn: 'ff'.repeat(16) } }),
      ],
      [
        'the endpoint left out of endpoints',
        40233,
        () => ({ apiSecurity: { ...keys.client, endpoints: [] } }),
      ],
      [
        'a clock 10 minutes off',
        40240,
        () => ({ apiSecurity: keys.client, now: () => harness.clock.now + 600_000 }),
      ],
    ])('%s → %i', async (_name, errcode, overrides) => {
      const client = harness.client(overrides());
      const error = await harness.errorOf(client.getPhoneNumber(harness.issuePhoneCode()));
      expect(error).toBeInstanceOf(WxApiSecurityRefusedError);
      expect((error as WxApiSecurityRefusedError).errcode).toBe(errcode);
      expect((error as Error).message).toMatch(/errcode \d+: \S/);
    });

    it('an access token of another app → 40237', async () => {
      const otherAppToken = await harness.client({ ...OTHER_APP }).getAccessToken();
      const client = secured({
        fetch: (input, init) =>
          fetch(input.replace(/access_token=[^&]+/, `access_token=${otherAppToken}`), init),
      });
      const error = await harness.errorOf(client.getPhoneNumber(harness.issuePhoneCode()));
      expect((error as WxApiSecurityRefusedError).errcode).toBe(40237);
    });

    it('an unsigned plain error is the error it states, and nothing more', async () => {
      harness.fake.failNext(PHONE, { errcode: 40029 });
      const error = await harness.errorOf(secured().getPhoneNumber(harness.issuePhoneCode()));
      expect(error).toBeInstanceOf(WxApiError);
      expect((error as WxApiError).errcode).toBe(40029);
    });

    it('a replayed, an altered or an unsigned request is refused by the fake', async () => {
      const wire: Wire = { bodies: [], answers: [], answerHeaders: [] };
      let replay: { url: string; init: RequestInit } | undefined;
      const capture: WxFetch = (input, init) => {
        replay = { url: input, init };
        return recording(wire)(input, init);
      };
      await secured({ fetch: capture }).getPhoneNumber(harness.issuePhoneCode());
      const { url, init } = replay as { url: string; init: RequestInit };
      const headers = init.headers as Record<string, string>;
      // The same request again 6 minutes later: stale.
      harness.clock.now += 360_000;
      try {
        const stale = await (await fetch(url, init)).json();
        expect(stale).toMatchObject({ errcode: 40240 });
      } finally {
        harness.clock.now -= 360_000;
      }
      // A body altered after signing: the signature no longer matches.
      const altered = { ...init, body: (init.body as string).replace('"iv":"', '"iv":"A') };
      expect(await (await fetch(url, altered)).json()).toMatchObject({ errcode: 40234 });
      // Without the signature header.
      const { 'Wechatmp-Signature': _signature, ...unsigned } = headers;
      expect(await (await fetch(url, { ...init, headers: unsigned })).json()).toMatchObject({
        errcode: 40232,
      });
    });
  });

  describe('platform certificate rotation', () => {
    const rotating = new FakeWeChatHarness({
      apps: [
        {
          ...APP,
          apiSecurity: {
            ...keys.fake,
            platformPrivateKey: incoming.privateKey,
            platformCertificateSn: incoming.sn,
            deprecatedPlatform: { privateKey: outgoing.privateKey, sn: outgoing.sn },
          },
        },
      ],
    });
    beforeAll(() => rotating.start());
    afterAll(() => rotating.stop());

    it('still verifies with the outgoing certificate, and warns once to download the new one', async () => {
      const warnings: string[] = [];
      const client = rotating.client({
        apiSecurity: { ...keys.client, onWarning: (message) => warnings.push(message) },
      });
      await client.getPhoneNumber(rotating.issuePhoneCode());
      await client.getPhoneNumber(rotating.issuePhoneCode());
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(outgoing.sn);
      expect(warnings[0]).toMatch(/download the new platform certificate/);
    });

    it('verifies with the new certificate without a warning, once it is configured', async () => {
      const warnings: string[] = [];
      const client = rotating.client({
        apiSecurity: {
          ...keys.client,
          platformCertificates: [
            { sn: incoming.sn, certificate: incoming.certificate },
            { sn: outgoing.sn, certificate: outgoing.certificate },
          ],
          onWarning: (message) => warnings.push(message),
        },
      });
      await client.getPhoneNumber(rotating.issuePhoneCode());
      expect(warnings).toEqual([]);
    });

    it('refuses an answer when neither certificate is configured', async () => {
      const stranger = createFakePlatformCredentials();
      const client = rotating.client({
        apiSecurity: {
          ...keys.client,
          platformCertificates: [{ sn: stranger.sn, certificate: stranger.certificate }],
        },
      });
      const error = await rotating.errorOf(client.getPhoneNumber(rotating.issuePhoneCode()));
      expect((error as WxApiAnswerRejectedError).reason).toBe('unknown-serial');
    });

    it('refuses a bad signature by the outgoing certificate too', async () => {
      rotating.fake.tamperNextAnswer(PHONE, 'bad-signature');
      const error = await rotating.errorOf(
        rotating.client({ apiSecurity: keys.client }).getPhoneNumber(rotating.issuePhoneCode()),
      );
      expect((error as WxApiAnswerRejectedError).reason).toBe('bad-signature');
    });
  });

  it('never lets a key, a code or a phone number into an error', () => {
    harness.remember(keys.client.symmetricKey);
    harness.remember(keys.client.privateKey.split('\n')[1] as string);
    expect(harness.capturedErrorCount()).toBeGreaterThan(10);
    expect(harness.leakedSecrets()).toEqual([]);
  });
});
