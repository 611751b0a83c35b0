import { BadRequestException, Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import {
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxPhoneNumber,
  WxPhoneNumbers,
  WxSession,
  WxUserInfo,
  WxVerified,
  WxWeRunData,
  type WxSessionInfo,
} from 'nestjs-wx-open-data';
import { ApiWxOpenData, WX_OPEN_DATA_ENVELOPE_SCHEMA } from 'nestjs-wx-open-data/swagger';

@Controller('me')
@UseFilters(WxOpenDataExceptionFilter)
export class MeController {
  constructor(private readonly phoneNumbers: WxPhoneNumbers) {}

  /** `{ rawData, signature, encryptedData, iv }` from `wx.getUserInfo` → the verified profile. */
  @Post('profile')
  @HttpCode(200)
  @WxVerified(WxUserInfo)
  @ApiWxOpenData({ payload: WxUserInfo })
  profile(@WxOpenData() profile: WxUserInfo): WxUserInfo {
    return profile;
  }

  /**
   * The phone number, by either flow: `{ encryptedData, iv }` (the old one, decrypted with the
   * session key) or `{ code }` (the current one, exchanged with WeChat).
   */
  @Post('phone')
  @HttpCode(200)
  @WxVerified(WxPhoneNumber, { payloadOptional: true })
  @ApiWxOpenData({
    payload: WxPhoneNumber,
    body: {
      oneOf: [
        WX_OPEN_DATA_ENVELOPE_SCHEMA,
        {
          type: 'object',
          properties: { code: { type: 'string', description: 'From the getPhoneNumber button' } },
        },
      ],
    },
  })
  async phone(
    @Body() body: { code?: unknown },
    @WxOpenData() decrypted: WxPhoneNumber | undefined,
    @WxSession() session: WxSessionInfo,
  ): Promise<WxPhoneNumber> {
    // Decrypted, validated and counted by the library's DTO path, like every other payload.
    if (decrypted !== undefined) return decrypted;
    if (typeof body?.code !== 'string' || body.code === '') {
      throw new BadRequestException('send { encryptedData, iv } or { code }');
    }
    return this.phoneNumbers.fromCode(body.code, session);
  }

  /** `{ encryptedData, iv }` from `wx.getWeRunData` → the step list. */
  @Post('werun')
  @HttpCode(200)
  @WxVerified(WxWeRunData)
  @ApiWxOpenData({ payload: WxWeRunData })
  weRun(@WxOpenData() data: WxWeRunData): WxWeRunData {
    return data;
  }
}
