import { WX_OPEN_DATA_REJECTED_BODY } from '../../lib/index.js';
import { createSessionKey, encryptOpenData, type FakeWeChatServer } from '../../lib/testing/index.js';
import { startMoreApp, type MoreApp } from '../support/more-app.js';
import { ADAPTERS } from '../support/nest-app.js';
import { APP_ID, watermark } from '../support/payloads.js';

const APP_SECRET = 'more-open-data-app-secret';

/** The sample's routes for the less common open data and server APIs, through the fake WeChat. */
describe.each(ADAPTERS)('the less common open data and APIs over HTTP (%s)', (adapter) => {
  let more: MoreApp;
  let wechat: FakeWeChatServer;
  const secrets = new Set<string>([APP_SECRET]);

  beforeAll(async () => {
    more = await startMoreApp(adapter, { appSecret: APP_SECRET });
    wechat = more.wechat;
  });
  afterAll(() => more.close());
  afterEach(async () => {
    await wechat.setMode('normal');
    wechat.clearFaults();
  });

  const http = () => more.http();
  const signIn = async (options: { unionid?: string } = {}) => {
    const signed = await more.signIn(options);
    secrets.add(signed.code);
    secrets.add(signed.user.sessionKey());
    return signed;
  };

  describe('group enter info', () => {
    it('a group and a one-to-one chat', async () => {
      const { user, post } = await signIn();
      const group = await post('/groups/enter', user.getGroupEnterInfo({ opengid: 'tG_E2E' })).expect(200);
      expect(group.body).toEqual({
        opengid: 'tG_E2E',
        open_single_roomid: null,
        group_openid: expect.any(String),
        chat_type: 3,
      });
      const single = await post('/groups/enter', user.getChatToolInfo({ openSingleRoomid: 'sR_E2E' })).expect(
        200,
      );
      expect(single.body).toMatchObject({ opengid: null, open_single_roomid: 'sR_E2E', chat_type: 1 });
    });

    it('a malformed envelope is a 400 naming the field', async () => {
      const { user, post } = await signIn();
      const { encryptedData } = user.getGroupEnterInfo();
      const res = await post('/groups/enter', { encryptedData }).expect(400);
      expect(res.body).toMatchObject({ code: 'WX_MALFORMED_PAYLOAD', field: 'iv' });
      const bad = await post('/groups/enter', {
        encryptedData: 'not base64!',
        iv: 'AAAAAAAAAAAAAAAAAAAAAA==',
      }).expect(400);
      expect(bad.body.field).toBe('encryptedData');
    });

    it('another key, a share-info payload, or no chat id: the one uniform 401', async () => {
      const { user, post } = await signIn();
      const otherKey = encryptOpenData({ opengid: 'tG_1', watermark: watermark() }, createSessionKey());
      const share = user.getShareInfo();
      const noChat = encryptOpenData(
        { opengid: '', open_single_roomid: '', watermark: watermark() },
        user.sessionKey(),
      );
      for (const body of [otherKey, share, noChat]) {
        const res = await post('/groups/enter', body).expect(401);
        expect(res.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
      }
    });
  });

  describe('private messages', () => {
    it('the activity id decides: valid:false with a known id passes, valid:true with an unknown id does not', async () => {
      const sharer = await signIn();
      const activity = await sharer.post('/share/private/activity', {}).expect(200);
      expect(wechat.findActivity(activity.body.activityId)).toMatchObject({ openid: sharer.user.openid });
      const recipient = await signIn();
      const opened = await recipient
        .post('/share/private/open', recipient.user.authPrivateMessage(activity.body.activityId, false))
        .expect(200);
      expect(opened.body).toEqual({ activityId: activity.body.activityId, sharedBy: sharer.user.openid });
      const forged = await recipient
        .post('/share/private/open', recipient.user.authPrivateMessage('9999_not-ours', true))
        .expect(403);
      expect(forged.body.message).toContain('share again');
    });
  });

  describe('mini-game data and storage', () => {
    it('interactive data written through WeChat reads back decrypted; game club data too', async () => {
      const { user, post } = await signIn();
      await post('/games/interactive-data', { kv_list: [{ key: '3', value: 42 }] }).expect(204);
      const read = await post('/games/interactive', user.getUserInteractiveStorage()).expect(200);
      expect(read.body.kv_list).toEqual([{ key: '3', value: 42 }]);
      const club = await post('/games/club', user.getGameClubData([{ dataType: 3, value: 0 }])).expect(200);
      expect(club.body.dataList).toEqual([{ dataType: 3, value: 0 }]);
    });

    it('limits are a 400 naming the field before any WeChat call', async () => {
      const { post } = await signIn();
      wechat.resetRequestCounts();
      const many = Array.from({ length: 129 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
      const tooMany = await post('/games/storage', { kv_list: many }).expect(400);
      expect(tooMany.body).toMatchObject({ code: 'WX_LIMIT_EXCEEDED', field: 'kv_list' });
      const badKey = await post('/games/interactive-data', { kv_list: [{ key: '51', value: 1 }] }).expect(
        400,
      );
      expect(badKey.body).toMatchObject({ code: 'WX_LIMIT_EXCEEDED', field: 'kv_list.0.key' });
      const missing = await post('/games/storage', {}).expect(400);
      expect(missing.body.message).toContain('kv_list');
      expect(wechat.requestCount('/wxa/set_user_storage')).toBe(0);
      expect(wechat.requestCount('/wxa/setuserinteractivedata')).toBe(0);
    });

    it('a key WeChat no longer holds is 401 WX_SESSION_KEY_STALE: log in again', async () => {
      const { user, post } = await signIn();
      // The user logged in again somewhere the server did not see: WeChat rotated the key.
      await fetch(
        `${wechat.baseUrl}/sns/jscode2session?${new URLSearchParams({ appid: APP_ID, secret: APP_SECRET, js_code: user.login(), grant_type: 'authorization_code' }).toString()}`,
      );
      const res = await post('/games/storage', { kv_list: [{ key: 'a', value: 'b' }] }).expect(401);
      expect(res.body).toMatchObject({
        code: 'WX_SESSION_KEY_STALE',
        message: expect.stringContaining('wx.login again'),
      });
    });
  });

  describe('paid unionid, plugin login, risk rank', () => {
    it('answer in typed shapes', async () => {
      const { user, post } = await signIn({ unionid: 'u-e2e-payer' });
      const transactionId = wechat.recordPayment({ openid: user.openid });
      expect((await post('/pay/unionid', { transactionId }).expect(200)).body).toEqual({
        unionid: 'u-e2e-payer',
      });
      const plugin = await http().post('/plugin/login').send({ code: user.pluginLogin() }).expect(200);
      expect(plugin.body.openpid).toEqual(expect.any(String));
      wechat.setRiskRank(user.openid, 2);
      const risk = await post('/me/risk', {}).expect(200);
      expect(risk.body).toEqual({ riskRank: 2, requestId: expect.any(Number) });
    });

    it('WeChat errors become the documented statuses with what to do', async () => {
      const { user, post } = await signIn();
      const noTrade = await post('/pay/unionid', { transactionId: '4200000000' }).expect(502);
      expect(noTrade.body).toMatchObject({ code: 'WX_API_ERROR', message: expect.stringContaining('89300') });
      const loginCode = user.login();
      secrets.add(loginCode);
      const wrongCode = await http().post('/plugin/login').send({ code: loginCode }).expect(401);
      expect(wrongCode.body).toMatchObject({ code: 'WX_CODE_REJECTED' });
      expect((await http().post('/plugin/login').send({}).expect(400)).body.field).toBe('code');
      await wechat.setMode('html');
      expect((await post('/me/risk', {}).expect(502)).body.code).toBe('WX_API_UNAVAILABLE');
    });
  });

  // In a describe of its own, so it runs after the other groups (Jest runs a block's own tests first).
  describe('the log', () => {
    it('no code, session key or app secret in any log line', () => {
      expect(more.logger.lines.length).toBeGreaterThan(3);
      const leaks = more.logger.lines.filter((line) => [...secrets].some((secret) => line.includes(secret)));
      expect(leaks).toEqual([]);
    });
  });
});
