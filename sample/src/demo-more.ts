import type { FakeWeChatServer, MiniProgramClient } from 'nestjs-wx-open-data/testing';

/** An answer of the sample app. */
export interface DemoAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The demo's step runner: posts `body` to `path`, checks the status and the answer, records it. */
export type DemoStepRunner = (
  name: string,
  path: string,
  sent: string,
  body: object,
  expectedStatus: number,
  check: (answer: DemoAnswer) => string | undefined,
  describe: (answer: DemoAnswer) => string,
) => Promise<DemoAnswer>;

/** The steps of the less common flows, in the order `runDemo` plays them. */
export const MORE_DEMO_STEPS = [
  'group enter info (wx.getGroupEnterInfo)',
  'private message: the sharer creates an activity id',
  'private message: a recipient opens it (activityId checked, valid ignored)',
  'mini game: write interactive data (setUserInteractiveData)',
  'mini game: read it back (wx.getUserInteractiveStorage)',
  'mini game: game club data',
  'mini game: write user storage (setUserStorage)',
  'mini game: a 129th pair is refused before any WeChat call',
  'unionid after a payment (getPaidUnionId)',
  'plugin login (getPluginOpenPId)',
  'risk rank (getUserRiskRank)',
  'phone number confirmed by WeChat (checkEncryptedData)',
  'encrypted channel (user encrypt key, by version)',
] as const;

/** Plays the less common flows of the sample (group enter info to risk rank) as `user`. */
export async function playMoreFlows(
  step: DemoStepRunner,
  user: MiniProgramClient,
  fake: FakeWeChatServer,
): Promise<void> {
  const names = MORE_DEMO_STEPS;
  await step(
    names[0],
    '/groups/enter',
    '{ encryptedData, iv }',
    user.getGroupEnterInfo({ opengid: 'tG_DEMO_GROUP' }),
    200,
    (a) => (a.body['opengid'] === 'tG_DEMO_GROUP' && a.body['chat_type'] === 3 ? undefined : 'wrong chat'),
    (a) =>
      `WxGroupEnterInfo { opengid: ${String(a.body['opengid'])}, chat_type: ${String(a.body['chat_type'])} }`,
  );
  const activity = await step(
    names[1],
    '/share/private/activity',
    '{}',
    {},
    200,
    (a) => (typeof a.body['activityId'] === 'string' ? undefined : 'no activity id'),
    (a) => `{ activityId, expiresAt: ${String(a.body['expiresAt'])} } bound to the sharer`,
  );
  await step(
    names[2],
    '/share/private/open',
    '{ valid: false, encryptedData, iv }',
    user.authPrivateMessage(String(activity.body['activityId']), false),
    200,
    (a) => (a.body['activityId'] === activity.body['activityId'] ? undefined : 'wrong activity'),
    () => 'the decrypted activityId is one this server created',
  );
  await step(
    names[3],
    '/games/interactive-data',
    '{ kv_list: [{ key: "1", value: 7 }] }',
    { kv_list: [{ key: '1', value: 7 }] },
    204,
    () => (fake.interactiveData(user.openid, user.appId).get('1') === 7 ? undefined : 'not stored'),
    () => 'signed with the session key over the exact body bytes',
  );
  await step(
    names[4],
    '/games/interactive',
    '{ encryptedData, iv }',
    user.getUserInteractiveStorage(['1']),
    200,
    (a) => (JSON.stringify(a.body['kv_list']) === '[{"key":"1","value":7}]' ? undefined : 'wrong values'),
    (a) => `WxUserInteractiveStorage { kv_list: ${JSON.stringify(a.body['kv_list'])} }`,
  );
  await step(
    names[5],
    '/games/club',
    '{ encryptedData, iv }',
    user.getGameClubData([{ dataType: 4, value: 12 }]),
    200,
    (a) => (Array.isArray(a.body['dataList']) ? undefined : 'no dataList'),
    (a) => `WxGameClubData { dataList: ${JSON.stringify(a.body['dataList'])} }`,
  );
  await step(
    names[6],
    '/games/storage',
    '{ kv_list: [{ key: "score", value: "100" }] }',
    { kv_list: [{ key: 'score', value: '100' }] },
    204,
    () => (fake.userStorage(user.openid, user.appId).get('score') === '100' ? undefined : 'not stored'),
    () => 'stored at WeChat',
  );
  const tooMany = Array.from({ length: 129 }, (_, i) => ({ key: `k${i}`, value: '1' }));
  await step(
    names[7],
    '/games/storage',
    '{ kv_list: 129 pairs }',
    { kv_list: tooMany },
    400,
    (a) =>
      a.body['code'] === 'WX_LIMIT_EXCEEDED' && a.body['field'] === 'kv_list' ? undefined : 'wrong refusal',
    (a) => `${String(a.body['code'])} naming ${String(a.body['field'])}`,
  );
  const transactionId = fake.recordPayment({ openid: user.openid }, user.appId);
  await step(
    names[8],
    '/pay/unionid',
    '{ transactionId }',
    { transactionId },
    200,
    (a) => (a.body['unionid'] === user.unionid ? undefined : 'wrong unionid'),
    (a) => `unionid ${String(a.body['unionid'])}`,
  );
  await step(
    names[9],
    '/plugin/login',
    '{ code }',
    { code: user.pluginLogin() },
    200,
    (a) => (typeof a.body['openpid'] === 'string' ? undefined : 'no openpid'),
    (a) => `openpid ${String(a.body['openpid'])}`,
  );
  await step(
    names[10],
    '/me/risk',
    '{}',
    {},
    200,
    (a) =>
      typeof a.body['riskRank'] === 'number' && typeof a.body['requestId'] === 'number'
        ? undefined
        : 'bad rank',
    (a) =>
      `{ riskRank: ${String(a.body['riskRank'])}, requestId: ${String(a.body['requestId'])} (WeChat's unoin_id) }`,
  );
  await step(
    names[11],
    '/me/phone/confirmed',
    '{ encryptedData, iv }',
    user.getPhoneNumber('13580006666'),
    200,
    (a) => (a.body['purePhoneNumber'] === '13580006666' ? undefined : 'wrong phone'),
    () => 'WeChat confirmed the ciphertext is its own and under 3 days old',
  );
  await step(
    names[12],
    '/secure/echo',
    '{ version, ciphertext }',
    user.encryptForServer({ order: 42 }),
    200,
    (a) => (JSON.stringify(a.body['received']) === '{"order":42}' ? undefined : 'not decrypted'),
    (a) => `decrypted ${JSON.stringify(a.body['received'])} with the key of that version`,
  );
}
