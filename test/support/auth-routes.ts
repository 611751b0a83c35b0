import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import {
  WxOpenDataExceptionFilter,
  WxPhoneNumbers,
  WxSession,
  WxSessionService,
  WxSessionToken,
  WxVerified,
  type WxSessionInfo,
} from '../../lib/index.js';

/**
 * Login, logout and the phone-code flow, as the README shows them: the routes every suite that
 * logs users in shares. Suites add their own controller for the routes they probe.
 */
@Controller()
@UseFilters(WxOpenDataExceptionFilter)
export class AuthTestRoutes {
  constructor(
    private readonly sessions: WxSessionService,
    private readonly phones: WxPhoneNumbers,
  ) {}

  @Post('auth/login')
  @HttpCode(200)
  login(@Body('code') code: unknown) {
    return this.sessions.login(code);
  }

  @Post('auth/logout')
  @HttpCode(204)
  @WxVerified()
  async logout(@WxSessionToken() token: string) {
    await this.sessions.revoke(token);
  }

  @Post('me/phone-code')
  @HttpCode(200)
  @WxVerified()
  phoneByCode(@Body() body: { code: string }, @WxSession() session: WxSessionInfo) {
    return this.phones.fromCode(body.code, session);
  }
}
