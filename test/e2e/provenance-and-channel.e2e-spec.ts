import { WX_OPEN_DATA_REJECTED_BODY } from '../../lib/index.js';
import { encryptForUserKey, encryptOpenData, type FakeWeChatServer } from '../../lib/testing/index.js';
import { startMoreApp, type MoreApp } from '../support/more-app.js';
import { ADAPTERS } from '../support/nest-app.js';
import { phonePayload } from '../support/payloads.js';

/** `@WxVerified(WxPhoneNumber, { provenance: true })` and `@WxUserEncrypted()` through the fake. */
describe.each(ADAPTERS)('provenance check and encrypted channel (%s)', (adapter) => {
  let more: MoreApp;
  let wechat: FakeWeChatServer;
  const clock = { offsetMs: 0 };

  beforeAll(async () => {
    more = await startMoreApp(adapter, {
      appSecret: 'provenance-app-secret',
      now: () => Date.now() + clock.offsetMs,
      apiTimeoutMs: 500,
    });
    wechat = more.wechat;
  });
  afterAll(() => more.close());
  afterEach(async () => {
    clock.offsetMs = 0;
    await wechat.setMode('normal');
    wechat.clearFaults();
  });

  const signIn = () => more.signIn();

  describe('provenance: WeChat must confirm the phone ciphertext', () => {
    it('passes data WeChat produced, asking WeChat once', async () => {
      const { user, post } = await signIn();
      wechat.resetRequestCounts();
      const res = await post('/me/phone/confirmed', user.getPhoneNumber('13700001111')).expect(200);
      expect(res.body).toEqual({ purePhoneNumber: '13700001111', countryCode: '86' });
      expect(wechat.requestCount('/wxa/business/checkencryptedmsg')).toBe(1);
    });

    it('refuses data that decrypts under the right key but WeChat never produced: the uniform 401', async () => {
      const { user, post } = await signIn();
      // Made with the user's key (a leaked key, a replay from another app): WeChat does not know it.
      const forged = encryptOpenData(phonePayload(), user.sessionKey());
      const res = await post('/me/phone/confirmed', forged).expect(401);
      expect(res.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
    });

    it('refuses data WeChat produced more than 3 days ago', async () => {
      const { user, post } = await signIn();
      const phone = user.getPhoneNumber();
      clock.offsetMs = 3 * 86_400_000 + 60_000;
      // The watermark is checked against the app's clock, which has not moved: only WeChat's verdict changed.
      const res = await post('/me/phone/confirmed', phone).expect(401);
      expect(res.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
    });

    it('a WeChat outage is a 502, slowness a 504: never a pass', async () => {
      const { user, post } = await signIn();
      wechat.failNext('/wxa/business/checkencryptedmsg', { errcode: -1 }, 5);
      expect((await post('/me/phone/confirmed', user.getPhoneNumber()).expect(502)).body.code).toBe(
        'WX_API_ERROR',
      );
      await wechat.setMode('html');
      expect((await post('/me/phone/confirmed', user.getPhoneNumber()).expect(502)).body.code).toBe(
        'WX_API_UNAVAILABLE',
      );
      await wechat.setMode('slow', { delayMs: 2000 });
      expect((await post('/me/phone/confirmed', user.getPhoneNumber()).expect(504)).body.code).toBe(
        'WX_API_TIMEOUT',
      );
    });

    it('a malformed envelope is a 400 naming the field, without asking WeChat', async () => {
      const { user, post } = await signIn();
      wechat.resetRequestCounts();
      const { encryptedData } = user.getPhoneNumber();
      expect((await post('/me/phone/confirmed', { encryptedData }).expect(400)).body.field).toBe('iv');
      expect(wechat.requestCount('/wxa/business/checkencryptedmsg')).toBe(0);
    });
  });

  describe('the encrypted channel', () => {
    it('decrypts a body under the latest user key; one getUserEncryptKey per version', async () => {
      const { user, post } = await signIn();
      wechat.resetRequestCounts();
      const first = await post('/secure/echo', user.encryptForServer({ order: 42, note: '你好' })).expect(
        200,
      );
      expect(first.body).toEqual({ received: { order: 42, note: '你好' } });
      await post('/secure/echo', user.encryptForServer({ order: 43 })).expect(200);
      expect(wechat.requestCount('/wxa/business/getuserencryptkey')).toBe(1);
    });

    it('a new version after the key expired is fetched from WeChat once', async () => {
      const { user, post } = await signIn();
      const old = user.getLatestUserKey();
      await post('/secure/echo', encryptForUserKey({ n: 1 }, old)).expect(200);
      clock.offsetMs = 3_600_000 + 1000;
      const fresh = user.getLatestUserKey();
      expect(fresh.version).toBe(old.version + 1);
      wechat.resetRequestCounts();
      await post('/secure/echo', encryptForUserKey({ n: 2 }, fresh)).expect(200);
      expect(wechat.requestCount('/wxa/business/getuserencryptkey')).toBe(1);
    });

    it('an unknown version, another key, or a flipped ciphertext: the uniform 401', async () => {
      const { user, post } = await signIn();
      const key = user.getLatestUserKey();
      const unknown = encryptForUserKey({ a: 1 }, { ...key, version: key.version + 7 });
      const otherKey = encryptForUserKey(
        { a: 1 },
        { ...key, encryptKey: Buffer.alloc(16, 7).toString('base64') },
      );
      const good = encryptForUserKey({ a: 1 }, key);
      const bytes = Buffer.from(good.ciphertext, 'base64');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      for (const body of [unknown, otherKey, { ...good, ciphertext: bytes.toString('base64') }]) {
        expect((await post('/secure/echo', body).expect(401)).body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
      }
    });

    it("each failure takes from the user's key budget: after 5, the user must log in again", async () => {
      const { user, post } = await signIn();
      const good = user.encryptForServer({ a: 1 });
      const bytes = Buffer.from(good.ciphertext, 'base64');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      const flipped = { ...good, ciphertext: bytes.toString('base64') };
      for (let i = 0; i < 5; i += 1) {
        expect((await post('/secure/echo', flipped).expect(401)).body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
      }
      // The budget is spent: the user's keys are gone, so even a good body needs a new login.
      expect((await post('/secure/echo', good).expect(401)).body.code).toBe('WX_SESSION_REQUIRED');
    });

    it('a spent key is reset at WeChat, so the next login brings a key with a budget of its own', async () => {
      const { user, post } = await signIn();
      const spentKey = user.sessionKey();
      wechat.resetRequestCounts();
      const bytes = Buffer.from(user.encryptForServer({ a: 1 }).ciphertext, 'base64');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      const flipped = { version: user.getLatestUserKey().version, ciphertext: bytes.toString('base64') };
      for (let i = 0; i < 5; i += 1) await post('/secure/echo', flipped).expect(401);
      // The reset runs after the answer, in the background: bounded wait for it.
      for (let i = 0; i < 100 && wechat.requestCount('/wxa/resetusersessionkey') === 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(wechat.requestCount('/wxa/resetusersessionkey')).toBe(1);
      expect(wechat.currentSessionKey(user.openid)).not.toBe(spentKey);
      expect(more.logger.lines.join('\n')).not.toContain(spentKey);
    });

    it('a body that is not { version, ciphertext } is a 400 naming the field', async () => {
      const { user, post } = await signIn();
      const body = user.encryptForServer({ a: 1 });
      expect((await post('/secure/echo', { ciphertext: body.ciphertext }).expect(400)).body.field).toBe(
        'version',
      );
      expect((await post('/secure/echo', { version: body.version }).expect(400)).body.field).toBe(
        'ciphertext',
      );
      expect(
        (await post('/secure/echo', { version: 1, ciphertext: 'not base64!' }).expect(400)).body.field,
      ).toBe('ciphertext');
    });

    it('a session key WeChat no longer holds: 401 asking for wx.login; an outage: 502', async () => {
      const { user, post } = await signIn();
      const body = user.encryptForServer({ a: 1 });
      wechat.failNext('/wxa/business/getuserencryptkey', { errcode: 87009 });
      expect((await post('/secure/echo', body).expect(401)).body.code).toBe('WX_SESSION_KEY_STALE');
      await wechat.setMode('html');
      expect((await post('/secure/echo', body).expect(502)).body.code).toBe('WX_API_UNAVAILABLE');
    });

    it('needs a session like any verified route', async () => {
      const res = await more.http().post('/secure/echo').send({ version: 1, ciphertext: 'AAAA' }).expect(401);
      expect(res.body.code).toBe('WX_SESSION_REQUIRED');
    });
  });
});
