import { Body, Controller, Get, HttpCode, Post, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  WxOpenData,
  WxOpenDataModule,
  WxPhoneNumber,
  WxSession,
  WxSessionService,
  WxShareInfo,
  WxUserInfo,
  WxVerified,
  WxWeRunData,
  type WxSessionInfo,
} from '../../lib/index.js';
import { createSessionKey, encryptOpenData, signRawData } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp } from '../support/nest-app.js';
import {
  APP_ID,
  flipBit,
  OTHER_APP_ID,
  phonePayload,
  rawDataOf,
  shareInfoPayload,
  userInfoPayload,
  watermark,
  weRunPayload,
} from '../support/payloads.js';

@Controller()
class OpenDataController {
  @Post('profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() info: WxUserInfo, @WxSession() session: WxSessionInfo) {
    return { info, session, isDto: info instanceof WxUserInfo };
  }

  @Post('phone')
  @HttpCode(200)
  @WxVerified(WxPhoneNumber)
  phone(@WxOpenData() phone: WxPhoneNumber) {
    return { phone, isDto: phone instanceof WxPhoneNumber };
  }

  @Post('werun')
  @HttpCode(200)
  @WxVerified(WxWeRunData)
  weRun(@WxOpenData() data: WxWeRunData) {
    return { data, isDto: data instanceof WxWeRunData };
  }

  @Post('share')
  @HttpCode(200)
  @WxVerified(WxShareInfo)
  share(@WxOpenData() share: WxShareInfo) {
    return { share, isDto: share instanceof WxShareInfo };
  }

  @Post('plain')
  @HttpCode(200)
  @WxVerified()
  plain(@WxOpenData() data: unknown, @Body() body: unknown) {
    return { data: data ?? null, bodyKeys: Object.keys(body ?? {}) };
  }

  @Get('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo) {
    return session;
  }
}

describe.each(ADAPTERS)('open data over HTTP (%s)', (adapter) => {
  const logger = new CapturingLogger();
  let app: INestApplication;
  let sessions: WxSessionService;
  let http: () => ReturnType<typeof request>;

  const openid = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
  let sessionKey = createSessionKey();
  /** Every key the suite used: none may appear in a response or a log line. */
  const keysUsed = [sessionKey];
  let token: string;
  const responses: string[] = [];

  beforeAll(async () => {
    app = await startTestApp(
      adapter,
      {
        imports: [
          WxOpenDataModule.forRoot({
            apps: [
              { appId: APP_ID, appSecret: 'test-secret' },
              { appId: OTHER_APP_ID, appSecret: 'other-secret' },
            ],
          }),
        ],
        controllers: [OpenDataController],
      },
      logger,
    );
    sessions = app.get(WxSessionService);
    token = await sessions.create({ openid, unionid: `u-${openid}`, appId: APP_ID, sessionKey });
    const server = app.getHttpServer();
    http = () => request(server);
  });

  afterAll(async () => {
    await app.close();
  });

  /** `bearer: null` sends no Authorization header at all. */
  const post = (path: string, body: object, bearer: string | null = token) => {
    const req = http()
      .post(path)
      .send(body)
      .on('response', (res: { text: string }) => responses.push(res.text));
    return bearer === null ? req : req.set('Authorization', `Bearer ${bearer}`);
  };

  const profileBody = (payload = userInfoPayload(openid), key = sessionKey) => {
    const rawData = rawDataOf(payload);
    return { rawData, signature: signRawData(rawData, key), ...encryptOpenData(payload, key) };
  };

  describe('each built-in payload kind answers 2xx with typed fields', () => {
    it('user info, with its signature, and the session without its key', async () => {
      const res = await post('/profile', profileBody()).expect(200);
      expect(res.body.isDto).toBe(true);
      expect(res.body.info).toMatchObject({ openId: openid, nickName: 'Band', gender: 1, city: 'Guangzhou' });
      expect(res.body.info.watermark.appid).toBe(APP_ID);
      expect(res.body.session).toEqual({ openid, unionid: `u-${openid}`, appId: APP_ID });
    });

    it('phone number, with a numeric country code normalised to a string', async () => {
      const res = await post('/phone', encryptOpenData(phonePayload(86), sessionKey)).expect(200);
      expect(res.body.isDto).toBe(true);
      expect(res.body.phone).toMatchObject({ purePhoneNumber: '13580006666', countryCode: '86' });
    });

    it('WeRun data', async () => {
      const res = await post('/werun', encryptOpenData(weRunPayload(31), sessionKey)).expect(200);
      expect(res.body.isDto).toBe(true);
      expect(res.body.data.stepInfoList).toHaveLength(31);
      expect(res.body.data.stepInfoList[0]).toEqual({ timestamp: expect.any(Number), step: 1000 });
    });

    it('share info', async () => {
      const res = await post('/share', encryptOpenData(shareInfoPayload(), sessionKey)).expect(200);
      expect(res.body).toEqual({
        share: expect.objectContaining({ openGId: 'tGz3Xp4ZuyxYOVkPQeSlAe0WBaj4' }),
        isDto: true,
      });
    });

    it('a route without a DTO gets the plain decrypted object', async () => {
      const res = await post(
        '/plain',
        encryptOpenData({ anything: [1, 2], watermark: watermark() }, sessionKey),
      ).expect(200);
      expect(res.body.data).toEqual({
        anything: [1, 2],
        watermark: expect.objectContaining({ appid: APP_ID }),
      });
    });

    it('a route without a DTO and without encrypted fields needs only the session', async () => {
      await post('/plain', {}).expect(200, { data: null, bodyKeys: [] });
      const res = await http().get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body).toEqual({ openid, unionid: `u-${openid}`, appId: APP_ID });
    });

    it('a session of the second configured mini program checks watermarks against that one', async () => {
      const otherKey = createSessionKey();
      const other = await sessions.create({
        openid: 'o-other-app-user',
        appId: OTHER_APP_ID,
        sessionKey: otherKey,
      });
      await post(
        '/share',
        encryptOpenData({ ...shareInfoPayload(), watermark: watermark(OTHER_APP_ID) }, otherKey),
        other,
      ).expect(200);
      const rejected = await post('/share', encryptOpenData(shareInfoPayload(), otherKey), other).expect(401);
      expect(rejected.body.code).toBe('WX_OPEN_DATA_REJECTED');
    });
  });

  describe('every key-dependent failure answers one byte-identical 401', () => {
    // Five key-dependent failures spend a user key's budget (maxKeyFailures), for every session
    // that uses the key: each case gets a key of its own.
    beforeEach(async () => {
      sessionKey = createSessionKey();
      keysUsed.push(sessionKey);
      token = await sessions.create({ openid, unionid: `u-${openid}`, appId: APP_ID, sessionKey });
    });

    const rejections: Array<[string, () => object]> = [
      [
        'a tampered signature',
        () => ({ ...profileBody(), signature: signRawData('{"nickName":"Eve"}', sessionKey) }),
      ],
      [
        'rawData changed after signing',
        () => ({ ...profileBody(), rawData: rawDataOf({ ...userInfoPayload(openid), nickName: 'Eve' }) }),
      ],
      ['a malformed signature', () => ({ ...profileBody(), signature: 'not-a-sha1' })],
      [
        'a flipped ciphertext bit',
        () => {
          const body = profileBody();
          return { ...body, encryptedData: flipBit(body.encryptedData, 8 * 40 + 3) };
        },
      ],
      [
        'a flipped last-block bit (bad padding)',
        () => {
          const body = profileBody();
          const bits = Buffer.from(body.encryptedData, 'base64').length * 8;
          return { ...body, encryptedData: flipBit(body.encryptedData, bits - 8 * 17) };
        },
      ],
      [
        'an iv bit flip that rewrites the openId',
        () => {
          const body = profileBody();
          // Byte 12 of the first block is the first character of the openId value: `{"openId":"o…`
          const forged = flipBit(body.iv, 12 * 8 + 1);
          return { ...body, iv: forged };
        },
      ],
      ['the wrong key', () => profileBody(userInfoPayload(openid), createSessionKey())],
      ['a watermark of another mini program', () => profileBody(userInfoPayload(openid, OTHER_APP_ID))],
      [
        'a stale watermark',
        () => profileBody({ ...userInfoPayload(openid), watermark: watermark(APP_ID, 301) }),
      ],
      [
        'a watermark from the future',
        () => profileBody({ ...userInfoPayload(openid), watermark: watermark(APP_ID, -61) }),
      ],
      ['no watermark', () => profileBody({ ...userInfoPayload(openid), watermark: undefined })],
      ["another user's openId", () => profileBody(userInfoPayload('o-somebody-else'))],
      ['decrypted data failing the DTO', () => profileBody({ ...userInfoPayload(openid), gender: 'male' })],
      [
        'a prototype key in the decrypted JSON',
        () => profileBody({ ...userInfoPayload(openid), nested: JSON.parse('{"__proto__":{"x":1}}') }),
      ],
      ['an empty ciphertext', () => ({ ...profileBody(), encryptedData: '' })],
      [
        'a ciphertext that is not whole blocks',
        () => ({ ...profileBody(), encryptedData: Buffer.alloc(20).toString('base64') }),
      ],
    ];

    it.each(rejections)('%s', async (_name, makeBody) => {
      const reference = await post('/profile', { ...profileBody(), signature: '0'.repeat(40) }).expect(401);
      const res = await post('/profile', makeBody()).expect(401);
      expect(res.text).toBe(reference.text);
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'WX_OPEN_DATA_REJECTED',
        message: 'WeChat open data rejected',
      });
    });

    it('the iv flip really did change the openId, so only the identity check stops it', async () => {
      const body = profileBody();
      const forgedIv = flipBit(body.iv, 12 * 8 + 1);
      const before = logger.containing('IDENTITY_MISMATCH').length;
      // Same forged envelope on a DTO-less route: decryption succeeds, the identity check refuses.
      await post('/plain', { encryptedData: body.encryptedData, iv: forgedIv }).expect(401);
      expect(logger.containing('IDENTITY_MISMATCH')).toHaveLength(before + 1);
    });
  });

  describe('session failures answer 401 "session required"', () => {
    it.each([
      ['no token', null],
      ['an unknown token', 'A'.repeat(43)],
      ['a malformed token', 'not a token'],
    ])('%s', async (_name, bearer) => {
      const res = await post('/profile', profileBody(), bearer).expect(401);
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'WX_SESSION_REQUIRED',
        message: 'WeChat session required',
      });
    });

    it('a revoked session', async () => {
      const doomed = await sessions.create({ openid, appId: APP_ID, sessionKey });
      await post('/plain', {}, doomed).expect(200);
      await sessions.revoke(doomed);
      const res = await post('/plain', {}, doomed).expect(401);
      expect(res.body.code).toBe('WX_SESSION_REQUIRED');
    });
  });

  describe('a malformed envelope answers 400 naming the field', () => {
    const malformed: Array<[string, () => object, string]> = [
      ['missing encryptedData on a DTO route', () => ({}), 'encryptedData'],
      ['iv without encryptedData', () => ({ iv: profileBody().iv }), 'encryptedData'],
      ['encryptedData without iv', () => ({ encryptedData: profileBody().encryptedData }), 'iv'],
      ['signature without rawData', () => ({ ...profileBody(), rawData: undefined }), 'rawData'],
      ['a number as encryptedData', () => ({ ...profileBody(), encryptedData: 12 }), 'encryptedData'],
      [
        'a "+" turned into a space',
        () => ({ ...profileBody(), encryptedData: forceSpace(profileBody().encryptedData) }),
        'encryptedData',
      ],
      [
        'base64url',
        () => ({
          ...profileBody(),
          iv: toBase64Url(Buffer.from('0123456789abcdef??', 'latin1').subarray(0, 16)),
        }),
        'iv',
      ],
      ['missing padding', () => ({ ...profileBody(), iv: profileBody().iv.replace(/=+$/, '') }), 'iv'],
      ['a 12-byte iv', () => ({ ...profileBody(), iv: Buffer.alloc(12).toString('base64') }), 'iv'],
      [
        'oversize encryptedData',
        () => ({ ...profileBody(), encryptedData: 'A'.repeat(8196) }),
        'encryptedData',
      ],
      ['oversize rawData', () => ({ ...profileBody(), rawData: 'x'.repeat(5000) }), 'rawData'],
    ];

    it.each(malformed)('%s', async (_name, makeBody, field) => {
      const res = await post('/profile', makeBody()).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'WX_MALFORMED_PAYLOAD', field });
    });
  });

  it('the session key appears in no response and no log line', () => {
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(responses.length).toBeGreaterThan(40);
    for (const key of keysUsed) {
      const hexKey = Buffer.from(key, 'base64').toString('hex');
      expect(responses.filter((text) => text.includes(key) || text.includes(hexKey))).toEqual([]);
      expect(logger.containing(key)).toEqual([]);
      expect(logger.containing(hexKey)).toEqual([]);
    }
    expect(logger.containing('test-secret')).toEqual([]);
  });
});

/** Replaces the first `+` with a space, adding one if the value had none. */
function forceSpace(base64: string): string {
  return base64.includes('+') ? base64.replace('+', ' ') : ` ${base64.slice(1)}`;
}

function toBase64Url(bytes: Buffer): string {
  const url = bytes.toString('base64url');
  return /[-_]/.test(url) ? url : `${url.slice(0, -1)}-`;
}
