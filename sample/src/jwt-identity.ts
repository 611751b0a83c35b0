import { Body, Controller, HttpCode, Injectable, Post, UseFilters, UseGuards } from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import {
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxSession,
  WxSessionService,
  WxUserInfo,
  WxVerified,
  type WxResolvedIdentity,
  type WxSessionInfo,
} from 'nestjs-wx-open-data';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';

// `SAMPLE_IDENTITY=jwt`: the app's own login (passport-jwt, @nestjs/jwt) instead of the library's
// session tokens. The library stores the user's key at login and finds it through req.user.

/** The sample signs its JWTs with this; a real app reads it from its secrets. */
const JWT_SECRET = process.env['JWT_SECRET'] ?? randomBytes(32).toString('base64url');

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: JWT_SECRET });
  }

  validate(payload: { sub: string }): WxResolvedIdentity {
    return { openid: payload.sub };
  }
}

/** The module option: the identity passport left on the request. */
export function identityFromPassport(context: ExecutionContext): WxResolvedIdentity | undefined {
  return context.switchToHttp().getRequest<{ user?: WxResolvedIdentity }>().user;
}

@Controller('auth')
@UseFilters(WxOpenDataExceptionFilter)
export class JwtAuthController {
  constructor(
    private readonly sessions: WxSessionService,
    private readonly jwt: JwtService,
  ) {}

  /** `{ code }` from `wx.login` → `{ token }`: the app's own JWT; the key stays in the store. */
  @Post('login')
  @HttpCode(200)
  async login(@Body('code') code: unknown): Promise<{ token: string }> {
    const { openid } = await this.sessions.login(code, { issueToken: false });
    return { token: await this.jwt.signAsync({ sub: openid }) };
  }
}

@Controller('me')
@UseGuards(AuthGuard('jwt')) // on the controller, so it runs before @WxVerified()'s guard
export class JwtMeController {
  /** `{ rawData, signature, encryptedData, iv }` under the app's JWT → the verified profile. */
  @Post('profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  profile(@WxOpenData() profile: WxUserInfo, @WxSession() session: WxSessionInfo) {
    return { ...profile, openid: session.openid };
  }
}

/** What the JWT variant of the sample imports. */
export const JWT_IDENTITY_IMPORTS = [
  PassportModule,
  JwtModule.register({ secret: JWT_SECRET, signOptions: { expiresIn: '1h' } }),
];
