import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import {
  WxOpenDataExceptionFilter,
  WxSessionService,
  WxSessionToken,
  WxVerified,
  type WxLoginResult,
} from 'nestjs-wx-open-data';

export class LoginRequest {
  /** The code `wx.login` gave the mini program. */
  @ApiProperty({ description: 'The code wx.login gave the mini program' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  code!: string;
}

@Controller('auth')
@UseFilters(WxOpenDataExceptionFilter)
export class AuthController {
  constructor(private readonly sessions: WxSessionService) {}

  /** `{ code }` from `wx.login` → `{ token, openid, unionid? }`; the session key stays here. */
  @Post('login')
  @HttpCode(200)
  login(@Body() body: LoginRequest): Promise<WxLoginResult> {
    return this.sessions.login(body.code);
  }

  /** Ends the session of the bearer token. */
  @Post('logout')
  @HttpCode(204)
  @WxVerified()
  async logout(@WxSessionToken() token: string): Promise<void> {
    await this.sessions.revoke(token);
  }
}
