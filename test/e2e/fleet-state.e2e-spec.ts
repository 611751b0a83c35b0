import { Body, Controller, Get, HttpCode, Post, UseFilters, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  MemoryWxSessionStore,
  WX_OPEN_DATA_REJECTED_BODY,
  WX_SESSION_STORE_UNAVAILABLE_BODY,
  WxOpenData,
  WxOpenDataConfigError,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxSession,
  WxSessionService,
  WxSessionStoreUnavailableError,
  WxUserInfo,
  WxVerified,
  type WxKeyAttempt,
  type WxOpenDataModuleOptions,
  type WxSessionInfo,
  type WxSessionWithKeys,
} from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp, type AdapterName } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';

/**
 * The fleet state of the Nest layer on the default memory store: replay protection, the
 * key-failure counter, and what a store that cannot answer turns into.
 */
const APP_SECRET = 'fleet-state-app-secret';

@Controller()
@UseFilters(WxOpenDataExceptionFilter)
class StateController {
  constructor(private readonly sessions: WxSessionService) {}

  @Post('auth/login')
  @HttpCode(200)
  login(@Body() body: { code: string }) {
    return this.sessions.login(body.code);
  }

  @Get('me')
  @WxVerified()
  me(@WxSession() session: WxSessionInfo) {
    return session;
  }

  @Post('me/profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() info: WxUserInfo) {
    return { openId: info.openId };
  }

  @Post('plain')
  @HttpCode(200)
  @WxVerified()
  plain(@WxOpenData() data: unknown) {
    return { data: data ?? null };
  }
}

/** A memory store whose chosen operations fail as a Redis outage would. */
class FlakyStore extends MemoryWxSessionStore {
  failing = new Set<'read' | 'claim' | 'count' | 'take' | 'keys'>();

  override getUserKeys(userId: string) {
    if (this.failing.has('keys')) {
      return Promise.reject(new WxSessionStoreUnavailableError('unreachable', 'getUserKeys', 2));
    }
    return super.getUserKeys(userId);
  }

  override getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    if (this.failing.has('read'))
      return Promise.reject(new WxSessionStoreUnavailableError('timeout', 'get', 2));
    return super.getSessionWithKeys(token);
  }
  override claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean> {
    if (this.failing.has('claim')) {
      return Promise.reject(new WxSessionStoreUnavailableError('unreachable', 'claimPayload', 2));
    }
    return super.claimPayload(fingerprint, ttlSeconds);
  }
  override takeKeyAttempt(budgetId: string, max: number, ttl: number): Promise<WxKeyAttempt> {
    if (this.failing.has('take')) {
      return Promise.reject(new WxSessionStoreUnavailableError('timeout', 'takeKeyAttempt', 2));
    }
    return super.takeKeyAttempt(budgetId, max, ttl);
  }
  override settleKeyAttempt(budgetId: string, succeeded: boolean): Promise<void> {
    if (this.failing.has('count')) {
      return Promise.reject(new WxSessionStoreUnavailableError('timeout', 'settleKeyAttempt', 2));
    }
    return super.settleKeyAttempt(budgetId, succeeded);
  }
}

interface Harness {
  app: INestApplication;
  wechat: FakeWeChatServer;
  logger: CapturingLogger;
  post(path: string, token: string, body: object): request.Test;
  login(user: MiniProgramClient): Promise<string>;
  close(): Promise<void>;
}

async function startHarness(
  adapter: AdapterName,
  options: Partial<WxOpenDataModuleOptions> = {},
): Promise<Harness> {
  const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
  const apiBaseUrl = await wechat.start();
  const logger = new CapturingLogger();
  const app = await startTestApp(
    adapter,
    {
      imports: [WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl, ...options })],
      controllers: [StateController],
    },
    logger,
  );
  const server = app.getHttpServer();
  return {
    app,
    wechat,
    logger,
    post: (path, token, body) =>
      request(server).post(path).set('Authorization', `Bearer ${token}`).send(body),
    login: async (user) =>
      (await request(server).post('/auth/login').send({ code: user.login() })).body.token,
    close: async () => {
      await app.close();
      await wechat.stop();
    },
  };
}

describe.each(ADAPTERS)('fleet state in the Nest layer (%s)', (adapter) => {
  describe('with the defaults', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(adapter);
    });
    afterAll(async () => {
      await h.close();
    });
    const user = (): MiniProgramClient => new MiniProgramClient(h.wechat, { appId: APP_ID });

    it('accepts a payload once; the replay gets the uniform 401 and the reason goes to the log only', async () => {
      const alice = user();
      const token = await h.login(alice);
      const payload = alice.getUserInfo();
      await h.post('/me/profile', token, payload).expect(200);
      const replay = await h.post('/me/profile', token, payload).expect(401);
      expect(replay.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
      expect(h.logger.containing('PAYLOAD_REPLAYED')).toHaveLength(1);
      // Another route, another session of the same user: still the same payload.
      const second = await h.login(alice);
      await h.post('/plain', second, payload).expect(401);
    });

    it('does not count replays as key failures: ten of them leave the session alive', async () => {
      const bob = user();
      const token = await h.login(bob);
      const payload = bob.getUserInfo();
      await h.post('/me/profile', token, payload).expect(200);
      for (let i = 0; i < 10; i += 1) await h.post('/me/profile', token, payload).expect(401);
      await h.post('/me/profile', token, bob.getUserInfo()).expect(200);
    });

    it('treats a payload whose iv alone was changed as the same payload (the fingerprint is the ciphertext)', async () => {
      const carol = new MiniProgramClient(h.wechat, {
        appId: APP_ID,
        anonymous: true,
        profile: { nickName: 'Band' },
      });
      const token = await h.login(carol);
      const payload = carol.getUserInfo();
      await h.post('/me/profile', token, payload).expect(200);
      // The plaintext starts `{"nickName":"Band"`: flipping bit 0 of iv byte 13 turns `B` into `C`,
      // a valid payload that differs from the accepted one in its first block only.
      const iv = Buffer.from(payload.iv, 'base64');
      iv[13] = (iv[13] ?? 0) ^ 0x01;
      const forged = { ...payload, iv: iv.toString('base64') };
      const replaysBefore = h.logger.containing('PAYLOAD_REPLAYED').length;
      const res = await h.post('/me/profile', token, forged).expect(401);
      expect(res.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
      expect(h.logger.containing('PAYLOAD_REPLAYED')).toHaveLength(replaysBefore + 1);
      // The same flip on a fresh payload decrypts and validates: only the replay cache stopped it.
      const fresh = carol.getUserInfo();
      const freshIv = Buffer.from(fresh.iv, 'base64');
      freshIv[13] = (freshIv[13] ?? 0) ^ 0x01;
      await h.post('/me/profile', token, { ...fresh, iv: freshIv.toString('base64') }).expect(200);
    });

    it('revokes the session at the fifth key-dependent failure; the user must log in again', async () => {
      const dave = user();
      const token = await h.login(dave);
      const failures = [
        { ...dave.getUserInfo(), signature: '0'.repeat(40) },
        { ...dave.getUserInfo(), encryptedData: Buffer.alloc(64).toString('base64') },
        { ...dave.getUserInfo(), signature: 'f'.repeat(40) },
        { ...dave.getUserInfo(), encryptedData: Buffer.alloc(32).toString('base64') },
      ];
      for (const body of failures) {
        expect((await h.post('/me/profile', token, body).expect(401)).body).toEqual(
          WX_OPEN_DATA_REJECTED_BODY,
        );
      }
      // Still alive after four.
      await h.post('/me/profile', token, dave.getUserInfo()).expect(200);
      const fifth = await h.post('/me/profile', token, { ...dave.getUserInfo(), signature: '1'.repeat(40) });
      expect(fifth.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
      const after = await h.post('/me/profile', token, dave.getUserInfo()).expect(401);
      expect(after.body.code).toBe('WX_SESSION_REQUIRED');
      expect(h.logger.containing('is spent (5 key-dependent failures)')).toHaveLength(1);
      const again = await h.login(dave);
      await h.post('/me/profile', again, dave.getUserInfo()).expect(200);
    });

    it('counts failures per user key: every session of the user shares its budget; a new key has its own', async () => {
      const erin = user();
      const first = await h.login(erin);
      const second = await h.login(erin);
      for (let i = 0; i < 5; i += 1) {
        const token = i % 2 === 0 ? first : second;
        await h.post('/me/profile', token, { ...erin.getUserInfo(), signature: '0'.repeat(40) }).expect(401);
      }
      // The key's budget is spent, for every token of the user: their keys are gone.
      for (const token of [first, second]) {
        expect((await h.post('/me/profile', token, erin.getUserInfo())).body.code).toBe(
          'WX_SESSION_REQUIRED',
        );
      }
      const fresh = await h.login(erin);
      await h.post('/me/profile', fresh, erin.getUserInfo()).expect(200);
    });
  });

  describe('with the options', () => {
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    it('replayProtection: false accepts a payload again', async () => {
      h = await startHarness(adapter, { replayProtection: false });
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await h.login(user);
      const payload = user.getUserInfo();
      await h.post('/me/profile', token, payload).expect(200);
      await h.post('/me/profile', token, payload).expect(200);
    });

    it('maxKeyFailures: 2 revokes at the second failure; false never does', async () => {
      h = await startHarness(adapter, { maxKeyFailures: 2 });
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await h.login(user);
      const forged = { ...user.getUserInfo(), signature: '0'.repeat(40) };
      await h.post('/me/profile', token, forged).expect(401);
      await h.post('/me/profile', token, user.getUserInfo()).expect(200);
      await h.post('/me/profile', token, forged).expect(401);
      expect((await h.post('/me/profile', token, user.getUserInfo())).body.code).toBe('WX_SESSION_REQUIRED');
      await h.close();

      h = await startHarness(adapter, { maxKeyFailures: false });
      const other = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const kept = await h.login(other);
      for (let i = 0; i < 12; i += 1) {
        await h.post('/me/profile', kept, { ...other.getUserInfo(), signature: '0'.repeat(40) }).expect(401);
      }
      await h.post('/me/profile', kept, other.getUserInfo()).expect(200);
    });
  });

  describe('a store that cannot answer', () => {
    let h: Harness;
    let store: FlakyStore;
    beforeAll(async () => {
      store = new FlakyStore();
      h = await startHarness(adapter, { sessionStore: store });
    });
    afterAll(async () => {
      await h.close();
    });
    afterEach(() => {
      store.failing.clear();
    });

    const expectUnavailable = (res: request.Response): void => {
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(res.body).toEqual(WX_SESSION_STORE_UNAVAILABLE_BODY);
    };

    it('reading the session: 503 with Retry-After, never a 401 "log in again" and never a pass', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await h.login(user);
      store.failing.add('read');
      expectUnavailable(await h.post('/me/profile', token, user.getUserInfo()));
      expectUnavailable(
        await request(h.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`),
      );
    });

    it('marking an accepted payload: 503, the payload is not served', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await h.login(user);
      store.failing.add('claim');
      const payload = user.getUserInfo();
      expectUnavailable(await h.post('/me/profile', token, payload));
      store.failing.clear();
      // Nothing was marked: the client's retry goes through.
      await h.post('/me/profile', token, payload).expect(200);
    });

    it('taking a key attempt: 503 before the key is used', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await h.login(user);
      store.failing.add('take');
      expectUnavailable(await h.post('/me/profile', token, user.getUserInfo()));
      store.failing.clear();
      await h.post('/me/profile', token, user.getUserInfo()).expect(200);
    });

    it('counting a key failure: 503 rather than an uncounted 401', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      const token = await h.login(user);
      store.failing.add('count');
      expectUnavailable(
        await h.post('/me/profile', token, { ...user.getUserInfo(), signature: '0'.repeat(40) }),
      );
      expect(h.logger.containing('SIGNATURE_INVALID').length).toBeGreaterThan(0);
    });

    it('a login: 503 with Retry-After', async () => {
      const user = new MiniProgramClient(h.wechat, { appId: APP_ID });
      store.failing.add('keys');
      expectUnavailable(
        await request(h.app.getHttpServer()).post('/auth/login').send({ code: user.login() }),
      );
      await expect(h.app.get(WxSessionService).login(user.login())).rejects.toBeInstanceOf(
        WxSessionStoreUnavailableError,
      );
    });
  });
});

describe('module options of the fleet state', () => {
  const base = { appId: APP_ID, appSecret: APP_SECRET };
  const boot = (options: Partial<WxOpenDataModuleOptions>) =>
    Test.createTestingModule({ imports: [WxOpenDataModule.forRoot({ ...base, ...options })] }).compile();

  it.each([
    ['replayProtection: "yes"', { replayProtection: 'yes' as unknown as boolean }, /replayProtection/],
    ['maxKeyFailures: 0', { maxKeyFailures: 0 }, /maxKeyFailures/],
    ['maxKeyFailures: 2.5', { maxKeyFailures: 2.5 }, /maxKeyFailures/],
    ['maxKeyFailures: true', { maxKeyFailures: true as unknown as number }, /maxKeyFailures/],
    [
      'sessionStore and redis',
      { sessionStore: new MemoryWxSessionStore(), redis: { url: 'redis://h' } },
      /not both/,
    ],
    ['redis: "url"', { redis: 'redis://h' as never }, /redis must be/],
    [
      'a bad redis option',
      { redis: { url: 'redis://:pw-hidden@h', commandTimeoutMs: -1 } },
      /redis: .*commandTimeoutMs/,
    ],
  ])('refuses %s at boot', async (_name, options, message) => {
    const booting = boot(options);
    await expect(booting).rejects.toBeInstanceOf(WxOpenDataConfigError);
    await expect(boot(options)).rejects.toThrow(message);
    await expect(boot(options)).rejects.toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('pw-hidden') }),
    );
  });
});
