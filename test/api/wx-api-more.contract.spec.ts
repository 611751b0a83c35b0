import { createHmac } from 'node:crypto';
import {
  decryptUserEncrypted,
  encryptedMsgHash,
  sessionKeySignature,
  WxApiError,
  WxApiLimitError,
  WxApiUnavailableError,
  type WxApiClient,
  type WxApiOperation,
  type WxFetch,
} from '../../lib/api/index.js';
import { WxDecryptionError, WxOpenDataError } from '../../lib/core/index.js';
import { encryptForUserKey, MiniProgramClient } from '../../lib/testing/index.js';
import { APP, FakeWeChatHarness, OTHER_APP } from './fake-wechat-harness.js';

const harness = new FakeWeChatHarness();
let client: WxApiClient;
let userSeq = 0;
const newOpenid = (): string => `o-more-user-${(userSeq += 1)}`;

/** What the client put on the wire, per request: the URL's query and the exact body text. */
interface SentRequest {
  path: string;
  query: URLSearchParams;
  method: string;
  body: string | undefined;
}
let sent: SentRequest[] = [];
const capturingFetch: WxFetch = (input, init) => {
  const url = new URL(input);
  sent.push({
    path: url.pathname,
    query: url.searchParams,
    method: init.method ?? 'GET',
    body: typeof init.body === 'string' ? init.body : undefined,
  });
  return fetch(input, init);
};
const sentTo = (path: string): SentRequest[] => sent.filter((r) => r.path === path);

beforeAll(() => harness.start());
afterAll(() => harness.stop());
beforeEach(() => {
  client = harness.client({ fetch: capturingFetch });
  sent = [];
  harness.fake.resetRequestCounts();
  harness.fake.clearFaults();
});
afterAll(() => expect(harness.leakedSecrets()).toEqual([]));

function expectWxApiError(error: unknown, operation: WxApiOperation, errcode: number): WxApiError {
  expect(error).toBeInstanceOf(WxApiError);
  expect(error).toMatchObject({ errcode, operation, keyDependent: false });
  return error as WxApiError;
}

/** A user logged in at the fake, with the key code2Session installed. */
async function loggedIn(sessionKey?: string): Promise<{ openid: string; sessionKey: string }> {
  const openid = newOpenid();
  const code = harness.issueCode(sessionKey === undefined ? { openid } : { openid, sessionKey });
  const result = await client.code2Session(code);
  harness.remember(result.sessionKey);
  return { openid, sessionKey: result.sessionKey };
}

describe('known answers from the spec', () => {
  it("checkencryptedmsg hashes the base64 TEXT: WeChat's own example 657edd86…", () => {
    const encryptedData =
      'hsSuSUsePBqSQw2rYMtf9Nvha603xX8f2BMQBcYRoJiMNwOqt/UEhrqekebG5ar0LFNAm5MD4Uz6zorRwiXJwbySJ/FEJHav4NsobBIU1PwdjbJWVQLFy7+YFkHB32OnQXWMh6ugW7Dyk2KS5BXp1f5lniKPp1KNLyNLlFlNZ2mgJCJmWvHj5AI7BLpWwoRvqRyZvVXo+9FsWqvBdxmAPA==';
    expect(encryptedMsgHash(encryptedData)).toBe(
      '657edd868c9715a9bebe42b833269a557a48498785397a796f1568c29a200b2c',
    );
    // The wrong input (the decoded bytes) gives another hash, which WeChat would not recognise.
    expect(encryptedMsgHash(encryptedData)).not.toBe(
      'c773ee0b078fe90402423c788383050a6f5238aa1342aa75d5d4758304a81f42',
    );
  });

  it('the login-state signature is keyed with the session key TEXT (WxJava\'s merged vector, over "")', () => {
    expect(sessionKeySignature('9ny8n3t0KULoi0deF7T9pw==')).toBe(
      'a6782009c273fdf75cad421c9d3eaf6ca8715c1b15cb1e130ef40fe7901a9772',
    );
  });

  it.each([
    [
      '{"kv_list":[{"key":"score","value":"100"},{"key":"gold","value":"3000"}]}',
      'c8cf97da429620b58688bc5819cc79a3a00a36ca91f026b65798abf7e60ab0e1',
    ],
    [
      '{ "kv_list":[{"key":"score","value":"100"},{"key":"gold","value":"3000"}] }',
      '2da92b90084a433391b02bf7ee30cbc6295c47830f3279fb0ae4a0e385c6499f',
    ],
    ['{"key":["gold","score"]}', 'ee21d54a1c5381330aee399c30fe465bf06ca5d2d4031068d4ac7c73ddddb651'],
    [
      '{"kv_list":[{"key":"1","value":0}]}',
      '95bebc0d5f08ed2ada061f6570a60d3ef4d5073681b6cd617fc80640f7d37d60',
    ],
    ['{"foo":"bar"}', '654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b'],
  ])('body %s signs to %s under o0q0otL8aEzpcZL/FT9WsQ==', (body, signature) => {
    expect(sessionKeySignature('o0q0otL8aEzpcZL/FT9WsQ==', body)).toBe(signature);
  });
});

describe('the mini-game storage writes: signed over the exact bytes sent', () => {
  const SPEC_KEY = 'o0q0otL8aEzpcZL/FT9WsQ==';

  it('setUserStorage sends the spec body and its spec signature, and the fake stores the pairs', async () => {
    const { openid } = await loggedIn(SPEC_KEY);
    await client.setUserStorage(openid, SPEC_KEY, [
      { key: 'score', value: '100' },
      { key: 'gold', value: '3000' },
    ]);
    const [request] = sentTo('/wxa/set_user_storage');
    expect(request?.method).toBe('POST');
    expect(request?.body).toBe('{"kv_list":[{"key":"score","value":"100"},{"key":"gold","value":"3000"}]}');
    expect(request?.query.get('signature')).toBe(
      'c8cf97da429620b58688bc5819cc79a3a00a36ca91f026b65798abf7e60ab0e1',
    );
    expect(request?.query.get('sig_method')).toBe('hmac_sha256');
    expect(request?.query.get('openid')).toBe(openid);
    expect(harness.fake.userStorage(openid)).toEqual(
      new Map([
        ['score', '100'],
        ['gold', '3000'],
      ]),
    );
  });

  it('removeUserStorage and setUserInteractiveData send the spec bodies and signatures', async () => {
    const { openid } = await loggedIn(SPEC_KEY);
    await client.setUserStorage(openid, SPEC_KEY, [
      { key: 'gold', value: '1' },
      { key: 'score', value: '2' },
      { key: 'kept', value: '3' },
    ]);
    await client.removeUserStorage(openid, SPEC_KEY, ['gold', 'score']);
    const [remove] = sentTo('/wxa/remove_user_storage');
    expect(remove?.body).toBe('{"key":["gold","score"]}');
    expect(remove?.query.get('signature')).toBe(
      'ee21d54a1c5381330aee399c30fe465bf06ca5d2d4031068d4ac7c73ddddb651',
    );
    expect(harness.fake.userStorage(openid)).toEqual(new Map([['kept', '3']]));

    await client.setUserInteractiveData(openid, SPEC_KEY, [{ key: '1', value: 0 }]);
    const [interactive] = sentTo('/wxa/setuserinteractivedata');
    expect(interactive?.body).toBe('{"kv_list":[{"key":"1","value":0}]}');
    expect(interactive?.query.get('signature')).toBe(
      '95bebc0d5f08ed2ada061f6570a60d3ef4d5073681b6cd617fc80640f7d37d60',
    );
    expect(harness.fake.interactiveData(openid)).toEqual(new Map([['1', 0]]));
  });

  it('copies only key and value: extra properties of an entry are not sent (so not left unsigned)', async () => {
    const { openid, sessionKey } = await loggedIn();
    const entry = { key: 'k', value: 'v', note: 'extra' };
    await client.setUserStorage(openid, sessionKey, [entry]);
    const [request] = sentTo('/wxa/set_user_storage');
    expect(request?.body).toBe('{"kv_list":[{"key":"k","value":"v"}]}');
    expect(request?.query.get('signature')).toBe(
      createHmac('sha256', sessionKey)
        .update(request?.body ?? '')
        .digest('hex'),
    );
  });

  it('a stale key is 87009 from WeChat, not a pass', async () => {
    const { openid, sessionKey } = await loggedIn();
    await client.code2Session(harness.issueCode({ openid }));
    expectWxApiError(
      await harness.errorOf(client.setUserStorage(openid, sessionKey, [{ key: 'a', value: 'b' }])),
      'setUserStorage',
      87009,
    );
  });

  describe('limits, checked before any call', () => {
    const cases: [string, () => Promise<unknown>, string, string][] = [
      ['129 pairs', () => client.setUserStorage('o', 'k', pairs(129)), 'pairs', 'kv_list'],
      ['no pairs', () => client.setUserStorage('o', 'k', []), 'empty', 'kv_list'],
      [
        'a 129-byte key',
        () => client.setUserStorage('o', 'k', [{ key: 'k'.repeat(129), value: '' }]),
        'key-bytes',
        'kv_list.0.key',
      ],
      // 128 bytes of key (64 two-byte characters) plus 897 of value: 1,025 bytes.
      [
        'a 1,025-byte pair',
        () => client.setUserStorage('o', 'k', [{ key: 'é'.repeat(64), value: 'v'.repeat(897) }]),
        'pair-bytes',
        'kv_list.0',
      ],
      [
        'a number value',
        () => client.setUserStorage('o', 'k', [{ key: 'a', value: 1 as unknown as string }]),
        'string-value',
        'kv_list.0.value',
      ],
      [
        '129 keys to remove',
        () =>
          client.removeUserStorage(
            'o',
            'k',
            pairs(129).map((p) => p.key),
          ),
        'pairs',
        'key',
      ],
      [
        'a 129-byte key to remove',
        () => client.removeUserStorage('o', 'k', ['ok', 'k'.repeat(129)]),
        'key-bytes',
        'key.1',
      ],
      [
        'interactive key "0"',
        () => client.setUserInteractiveData('o', 'k', [{ key: '0', value: 1 }]),
        'interactive-key',
        'kv_list.0.key',
      ],
      [
        'interactive key "51"',
        () =>
          client.setUserInteractiveData('o', 'k', [
            { key: '1', value: 1 },
            { key: '51', value: 1 },
          ]),
        'interactive-key',
        'kv_list.1.key',
      ],
      [
        'interactive key "score"',
        () => client.setUserInteractiveData('o', 'k', [{ key: 'score', value: 1 }]),
        'interactive-key',
        'kv_list.0.key',
      ],
      [
        'a fractional interactive value',
        () => client.setUserInteractiveData('o', 'k', [{ key: '2', value: 1.5 }]),
        'interactive-value',
        'kv_list.0.value',
      ],
    ];

    it.each(cases)(
      '%s: WxApiLimitError naming the field, nothing sent',
      async (_name, call, limit, field) => {
        const error = await harness.errorOf(call());
        expect(error).toBeInstanceOf(WxApiLimitError);
        expect(error).toBeInstanceOf(WxOpenDataError);
        expect(error).toMatchObject({ code: 'WX_API_LIMIT_EXCEEDED', limit, field, keyDependent: false });
        expect(sent).toEqual([]);
      },
    );

    it('accepts exactly the limits: 128 pairs, a 128-byte key, a 1,024-byte pair', async () => {
      const { openid, sessionKey } = await loggedIn();
      await client.setUserStorage(openid, sessionKey, pairs(128));
      const other = await loggedIn();
      await client.setUserStorage(other.openid, other.sessionKey, [
        { key: 'k'.repeat(128), value: 'v'.repeat(896) },
      ]);
      await client.setUserInteractiveData(openid, sessionKey, [{ key: '50', value: -3 }]);
      expect(harness.fake.userStorage(openid).size).toBe(128);
    });

    it('a limit error message names no key or value', async () => {
      const error = (await harness.errorOf(
        client.setUserStorage('o', 'k', [{ key: 'secret-key-name'.repeat(10), value: 'x' }]),
      )) as Error;
      expect(error.message).not.toContain('secret-key-name');
    });
  });
});

function pairs(count: number): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: String(i) }));
}

describe('checkEncryptedData', () => {
  it('confirms phone data WeChat produced, with its creation time, and sends the hash of the text', async () => {
    const { openid } = await loggedIn();
    const user = new MiniProgramClient(harness.fake, {
      appId: APP.appId,
      openid,
      now: () => harness.clock.now,
    });
    const phone = user.getPhoneNumber();
    const check = await client.checkEncryptedData(phone.encryptedData);
    expect(check).toEqual({ valid: true, createdAt: Math.floor(harness.clock.now / 1000) });
    expect(JSON.parse(sentTo('/wxa/business/checkencryptedmsg')[0]?.body ?? '')).toEqual({
      encrypted_msg_hash: encryptedMsgHash(phone.encryptedData),
    });
  });

  it("valid: false for data WeChat never produced (errcode 1), another app's, or older than 3 days", async () => {
    const { openid } = await loggedIn();
    const user = new MiniProgramClient(harness.fake, {
      appId: APP.appId,
      openid,
      now: () => harness.clock.now,
    });
    const phone = user.getPhoneNumber();
    expect(await client.checkEncryptedData(`${phone.encryptedData.slice(0, -4)}AAA=`)).toEqual({
      valid: false,
    });
    const other = harness.client({ ...OTHER_APP });
    expect(await other.checkEncryptedData(phone.encryptedData)).toEqual({ valid: false });
    harness.clock.now += 3 * 86_400_000 + 1000;
    expect(await client.checkEncryptedData(phone.encryptedData)).toEqual({ valid: false });
  });

  it('WeChat busy throughout is an error, never a verdict', async () => {
    harness.fake.failNext('/wxa/business/checkencryptedmsg', { errcode: -1 }, 5);
    expectWxApiError(await harness.errorOf(client.checkEncryptedData('AAAA')), 'checkEncryptedData', -1);
  });
});

describe('getUserEncryptKey', () => {
  it('lists the last three keys newest first, signed over "" with GET', async () => {
    const { openid, sessionKey } = await loggedIn();
    const first = harness.fake.latestUserEncryptKey(openid);
    harness.clock.now += 3_600_000;
    const second = harness.fake.latestUserEncryptKey(openid);
    harness.clock.now += 3_600_000;
    harness.fake.latestUserEncryptKey(openid);
    harness.clock.now += 3_600_000;
    const fourth = harness.fake.latestUserEncryptKey(openid);
    harness.clock.now += 1000;
    const keys = await client.getUserEncryptKey(openid, sessionKey);
    keys.forEach((key) => harness.remember(key.encryptKey));
    expect(keys.map((k) => k.version)).toEqual([fourth.version, fourth.version - 1, fourth.version - 2]);
    expect(keys[0]).toEqual({
      encryptKey: fourth.encryptKey,
      version: fourth.version,
      expiresInSeconds: 3599,
      iv: fourth.iv,
      createdAt: Math.floor(fourth.createdAt / 1000),
    });
    expect(keys[1]?.expiresInSeconds).toBe(0);
    expect(keys.some((k) => k.version === first.version)).toBe(false);
    expect(second.version).toBe(first.version + 1);
    const [request] = sentTo('/wxa/business/getuserencryptkey');
    expect(request?.method).toBe('GET');
    expect(request?.query.get('signature')).toBe(sessionKeySignature(sessionKey, ''));
  });

  it('87009 for a key that is no longer current', async () => {
    const { openid, sessionKey } = await loggedIn();
    await client.code2Session(harness.issueCode({ openid }));
    expectWxApiError(
      await harness.errorOf(client.getUserEncryptKey(openid, sessionKey)),
      'getUserEncryptKey',
      87009,
    );
  });

  it('a malformed key in the answer is an invalid response, not a key', async () => {
    const { openid, sessionKey } = await loggedIn();
    const fetchImpl: WxFetch = async () =>
      new Response(
        JSON.stringify({
          errcode: 0,
          key_info_list: [{ encrypt_key: 'short', version: 1, expire_in: 1, iv: 'x', create_time: 1 }],
        }),
      );
    const broken = harness.client({ fetch: fetchImpl });
    const error = await harness.errorOf(broken.getUserEncryptKey(openid, sessionKey));
    expect(error).toBeInstanceOf(WxApiUnavailableError);
  });
});

describe('the encrypted channel cipher contract', () => {
  // The first key of WeChat's getuserencryptkey sample.
  const DOC_KEY = { encryptKey: 'VI6BpyrK9XH4i4AIGe86tg==', iv: '6003f73ec441c386', version: 10 };

  it('round-trips under the doc sample key: iv = the 16 UTF-8 bytes of the iv string', () => {
    const body = encryptForUserKey({ order: 1, note: 'é' }, DOC_KEY);
    expect(body.version).toBe(10);
    expect(decryptUserEncrypted(body.ciphertext, DOC_KEY)).toEqual({ order: 1, note: 'é' });
    // Hex-decoding the iv (as a draft WxJava PR does) gives 8 bytes: no AES-CBC iv at all.
    expect(Buffer.from(DOC_KEY.iv, 'hex')).toHaveLength(8);
  });

  it('one WxDecryptionError for another key, another iv, or a body that is not a JSON object', () => {
    const body = encryptForUserKey({ a: 1 }, DOC_KEY);
    const otherIv = { ...DOC_KEY, iv: '0000000000000000' };
    const otherKey = { ...DOC_KEY, encryptKey: 'aoUGAHltcliiL9f23oTKHA==' };
    const array = encryptForUserKey([1, 2] as unknown as object, DOC_KEY);
    for (const [ciphertext, key] of [
      [body.ciphertext, otherKey],
      [body.ciphertext, otherIv],
      [array.ciphertext, DOC_KEY],
    ] as const) {
      let caught: unknown;
      try {
        decryptUserEncrypted(ciphertext, key);
      } catch (error) {
        caught = error;
      }
      // A wrong iv only garbles the first block: the JSON then fails to parse, the same error.
      expect(caught).toBeInstanceOf(WxDecryptionError);
    }
  });
});

describe('getPaidUnionId', () => {
  it("answers the payer's unionid by transaction id or by merchant order", async () => {
    const openid = newOpenid();
    await client.code2Session(harness.issueCode({ openid, unionid: 'u-paid-1' }));
    const transactionId = harness.fake.recordPayment({ openid });
    expect(await client.getPaidUnionId(openid, { transactionId })).toBe('u-paid-1');
    harness.fake.recordPayment({ openid, mchId: '1230000109', outTradeNo: 'order-7' });
    expect(await client.getPaidUnionId(openid, { mchId: '1230000109', outTradeNo: 'order-7' })).toBe(
      'u-paid-1',
    );
    expect(sentTo('/wxa/getpaidunionid')[1]?.query.get('out_trade_no')).toBe('order-7');
  });

  it("89300 for another user's or a stale trade, 89002 without Open Platform binding", async () => {
    const { openid } = await loggedIn();
    const transactionId = harness.fake.recordPayment({ openid });
    expectWxApiError(
      await harness.errorOf(client.getPaidUnionId(openid, { transactionId })),
      'getPaidUnionId',
      89002,
    );
    const other = await loggedIn();
    expectWxApiError(
      await harness.errorOf(client.getPaidUnionId(other.openid, { transactionId })),
      'getPaidUnionId',
      89300,
    );
    harness.clock.now += 5 * 60_000;
    expectWxApiError(
      await harness.errorOf(client.getPaidUnionId(openid, { transactionId })),
      'getPaidUnionId',
      89300,
    );
  });
});

describe('getPluginOpenPId', () => {
  it('answers the same openpid for the same user, once per code; 1007 for a wx.login code', async () => {
    const { openid } = await loggedIn();
    const code = harness.remember(harness.fake.issuePluginCode(openid));
    const openpid = await client.getPluginOpenPId(code);
    expect(openpid).toMatch(/^[A-Za-z0-9_-]{28}$/);
    expect(await client.getPluginOpenPId(harness.remember(harness.fake.issuePluginCode(openid)))).toBe(
      openpid,
    );
    expectWxApiError(await harness.errorOf(client.getPluginOpenPId(code)), 'getPluginOpenPId', 1007);
    expectWxApiError(
      await harness.errorOf(client.getPluginOpenPId(harness.issueCode({ openid }))),
      'getPluginOpenPId',
      1007,
    );
  });
});

describe('getUserRiskRank', () => {
  it('answers risk_rank and the request id (unoin_id, above 2^31) as requestId', async () => {
    const { openid } = await loggedIn();
    harness.fake.setRiskRank(openid, 3);
    const rank = await client.getUserRiskRank({ openid, scene: 0, clientIp: '127.0.0.1' });
    expect(rank.riskRank).toBe(3);
    expect(rank.requestId).toBeGreaterThanOrEqual(2 ** 31);
    expect(Object.keys(rank).sort()).toEqual(['requestId', 'riskRank']);
    expect(JSON.parse(sentTo('/wxa/getuserriskrank')[0]?.body ?? '')).toEqual({
      appid: APP.appId,
      openid,
      scene: 0,
      client_ip: '127.0.0.1',
    });
  });

  it('61010 for a user without a recent visit, unless is_test', async () => {
    const request = { openid: newOpenid(), scene: 1 as const, clientIp: '10.0.0.1' };
    expectWxApiError(await harness.errorOf(client.getUserRiskRank(request)), 'getUserRiskRank', 61010);
    expect((await client.getUserRiskRank({ ...request, isTest: true })).riskRank).toBe(0);
  });
});

describe('createActivityId', () => {
  it("creates an id bound to the sharer, passed in the query string, with WeChat's expiry", async () => {
    const { openid } = await loggedIn();
    const activity = await client.createActivityId({ openid });
    expect(activity.activityId).toMatch(/^\d{4}_/);
    expect(activity.expiresAt).toBe(Math.floor(harness.clock.now / 1000) + 86_400);
    expect(harness.fake.findActivity(activity.activityId)).toEqual({ appId: APP.appId, openid });
    const [request] = sentTo('/cgi-bin/message/wxopen/activityid/create');
    expect(request?.method).toBe('GET');
    expect(request?.query.get('openid')).toBe(openid);
    expect(request?.body).toBeUndefined();
    const byUnion = await client.createActivityId({ unionid: 'u-sharer' });
    expect(harness.fake.findActivity(byUnion.activityId)).toEqual({ appId: APP.appId, unionid: 'u-sharer' });
  });

  it('refreshes a rejected access token once, as every call does', async () => {
    await client.getAccessToken();
    harness.fake.expireAccessTokens();
    await expect(client.createActivityId({ openid: 'o-any' })).resolves.toMatchObject({
      activityId: expect.any(String),
    });
    expect(harness.fake.requestCount('/cgi-bin/message/wxopen/activityid/create')).toBe(2);
  });
});

describe('getPhoneNumber: a typed result', () => {
  it('answers phone_info with a string country code and the watermark', async () => {
    const { openid } = await loggedIn();
    const info = await client.getPhoneNumber(harness.issuePhoneCode({ openid, countryCode: 86 }), openid);
    expect(info).toEqual({
      phoneNumber: '13800138000',
      purePhoneNumber: '13800138000',
      countryCode: '86',
      watermark: { appid: APP.appId, timestamp: Math.floor(harness.clock.now / 1000) },
    });
  });

  it('a phone_info without a watermark is an invalid response', async () => {
    const fetchImpl: WxFetch = async (input) =>
      new URL(input).pathname === '/cgi-bin/stable_token'
        ? new Response(JSON.stringify({ access_token: 'tok-0123456789', expires_in: 7200 }))
        : new Response(
            JSON.stringify({
              errcode: 0,
              phone_info: { phoneNumber: '1', purePhoneNumber: '1', countryCode: '86' },
            }),
          );
    const error = await harness.errorOf(
      harness.client({ fetch: fetchImpl }).getPhoneNumber(harness.remember('code-0123456789')),
    );
    expect(error).toBeInstanceOf(WxApiUnavailableError);
  });
});
