/**
 * Bring your own identity (issue 10 §3): the app logs users in with its own JWT (passport-jwt,
 * @nestjs/jwt), the library stores the key without minting a token, and `resolveIdentity` points
 * the guard at `req.user`: same verification, replay protection, key budget and rotation grace.
 */
import {
  Body,
  Controller,
  HttpCode,
  Injectable,
  Module,
  Post,
  UseFilters,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import request from 'supertest';
import {
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxOpenDataModule,
  WxSession,
  WxSessionService,
  WxSessionStore,
  WxSessionToken,
  WxUserInfo,
  WxVerified,
  WX_OPEN_DATA_REJECTED_BODY,
  type WxResolvedIdentity,
  type WxSessionInfo,
} from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { ADAPTERS, startTestApp } from '../support/nest-app.js';
import { APP_ID } from '../support/payloads.js';

const APP_SECRET = 'own-identity-app-secret';
const JWT_SECRET = 'own-identity-jwt-secret-for-tests-only';

/** What the app's JWT carries and passport puts on `req.user`. */
interface AppUser {
  openid: string;
  appId: string;
}

@Injectable()
class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: JWT_SECRET });
  }

  validate(payload: { sub: string; appId: string }): AppUser {
    return { openid: payload.sub, appId: payload.appId };
  }
}

@Controller('auth')
@UseFilters(WxOpenDataExceptionFilter)
class AppAuthController {
  constructor(
    private readonly sessions: WxSessionService,
    private readonly jwt: JwtService,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body('code') code: unknown) {
    const { openid } = await this.sessions.login(code, { issueToken: false });
    return { token: await this.jwt.signAsync({ sub: openid, appId: APP_ID }) };
  }
}

@Controller('me')
@UseGuards(AuthGuard('jwt'))
class MeController {
  @Post('profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(
    @WxOpenData() profile: WxUserInfo,
    @WxSession() session: WxSessionInfo,
    @WxSessionToken() token: string | undefined,
  ) {
    return { nickName: profile.nickName, session, hasLibraryToken: token !== undefined };
  }
}

/** The trap the README warns about: the auth guard written above, so it runs after ours. */
@Controller('misordered')
class MisorderedController {
  @Post('profile')
  @HttpCode(200)
  @UseGuards(AuthGuard('jwt'))
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() profile: WxUserInfo) {
    return { nickName: profile.nickName };
  }
}

describe.each(ADAPTERS)('bring your own identity: passport-jwt (%s)', (adapter) => {
  let app: INestApplication;
  let wechat: FakeWeChatServer;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
    const apiBaseUrl = await wechat.start();
    @Module({
      imports: [
        PassportModule,
        JwtModule.register({ secret: JWT_SECRET, signOptions: { expiresIn: '1h' } }),
        WxOpenDataModule.forRoot({
          appId: APP_ID,
          appSecret: APP_SECRET,
          apiBaseUrl,
          resolveIdentity: (context) =>
            context.switchToHttp().getRequest<{ user?: WxResolvedIdentity }>().user,
        }),
      ],
      controllers: [AppAuthController, MeController, MisorderedController],
      providers: [JwtStrategy],
    })
    class AppModule {}
    app = await startTestApp(adapter, { imports: [AppModule] }, logger);
  });

  afterAll(async () => {
    await app.close();
    await wechat.stop();
  });

  const login = async (user: MiniProgramClient): Promise<string> =>
    (await request(app.getHttpServer()).post('/auth/login').send({ code: user.login() }).expect(200)).body
      .token;
  const post = (path: string, jwt: string | undefined, body: object) => {
    const req = request(app.getHttpServer()).post(path).send(body);
    return jwt === undefined ? req : req.set('Authorization', `Bearer ${jwt}`);
  };

  it('login stores the key and mints no library session; the app signs its own JWT', async () => {
    const store = app.get(WxSessionStore);
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const jwt = await login(user);
    expect(jwt.split('.')).toHaveLength(3);
    // The library token reader finds nothing: the JWT is not a session token of ours.
    await expect(app.get(WxSessionService).require(jwt)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect((await store.getUserKeys(`${APP_ID}:${user.openid}`))?.sessionKey).toBe(user.sessionKey());
  });

  it("verifies the user's open data with the key stored for req.user", async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const jwt = await login(user);
    const res = await post('/me/profile', jwt, user.getUserInfo()).expect(200);
    expect(res.body).toEqual({
      nickName: JSON.parse(user.getUserInfo().rawData).nickName,
      session: { openid: user.openid, appId: APP_ID },
      hasLibraryToken: false,
    });
  });

  it("another user's payload under my JWT is the uniform 401", async () => {
    const me = new MiniProgramClient(wechat, { appId: APP_ID });
    const other = new MiniProgramClient(wechat, { appId: APP_ID });
    const jwt = await login(me);
    await login(other);
    const res = await post('/me/profile', jwt, other.getUserInfo()).expect(401);
    expect(res.body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
  });

  it('replay protection: a payload is accepted once', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const jwt = await login(user);
    const payload = user.getUserInfo();
    await post('/me/profile', jwt, payload).expect(200);
    expect((await post('/me/profile', jwt, payload).expect(401)).body).toEqual(WX_OPEN_DATA_REJECTED_BODY);
  });

  it('the rotation grace: data made with the key before a new login still passes', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    await login(user);
    const before = user.getUserInfo();
    const jwt = await login(user);
    await post('/me/profile', jwt, before).expect(200);
    await post('/me/profile', jwt, user.getUserInfo()).expect(200);
  });

  it('the key budget: five failures spend the key; the user must log in again', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const jwt = await login(user);
    for (let i = 0; i < 5; i += 1) {
      await post('/me/profile', jwt, { ...user.getUserInfo(), signature: '0'.repeat(40) }).expect(401);
    }
    const spent = await post('/me/profile', jwt, user.getUserInfo()).expect(401);
    expect(spent.body.code).toBe('WX_SESSION_REQUIRED');
    const fresh = await login(user);
    await post('/me/profile', fresh, user.getUserInfo()).expect(200);
  });

  it('no JWT: passport refuses before the library is asked', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    await login(user);
    const res = await post('/me/profile', undefined, user.getUserInfo()).expect(401);
    expect(res.body.code).toBeUndefined();
  });

  it('guards in the wrong order: 401 WX_SESSION_REQUIRED and one log line saying how to order them', async () => {
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const jwt = await login(user);
    for (let i = 0; i < 3; i += 1) {
      const res = await post('/misordered/profile', jwt, user.getUserInfo()).expect(401);
      expect(res.body.code).toBe('WX_SESSION_REQUIRED');
    }
    const lines = logger.containing('resolveIdentity returned no identity, so @WxVerified()');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('must run first');
    // It names the request that met it, like every line about a request.
    expect(lines[0]).toMatch(/\[request [0-9a-f-]{36}\] resolveIdentity returned no identity/);
  });

  it('login for a mini program the module does not serve is a typed 400, the id never logged', async () => {
    const before = wechat.requestCount('/sns/jscode2session');
    const sessions = app.get(WxSessionService);
    const hostile = 'wx\nFAKE LOG LINE';
    await expect(sessions.login('a-code', { appId: hostile, issueToken: false })).rejects.toMatchObject({
      code: 'MALFORMED_PAYLOAD',
      field: 'appId',
    });
    expect(wechat.requestCount('/sns/jscode2session')).toBe(before);
    expect(logger.containing('FAKE LOG LINE')).toEqual([]);
  });

  it('login refuses a missing, empty or non-string code with a 400, without asking WeChat', async () => {
    const before = wechat.requestCount('/sns/jscode2session');
    for (const body of [{}, { code: '' }, { code: 42 }, { code: ['a'] }, { code: 'a\nb' }]) {
      const res = await request(app.getHttpServer()).post('/auth/login').send(body).expect(400);
      expect(res.body).toMatchObject({ code: 'WX_MALFORMED_PAYLOAD', field: 'code' });
    }
    expect(wechat.requestCount('/sns/jscode2session')).toBe(before);
  });
});
