import { Controller, HttpCode, Post } from '@nestjs/common';
import { WxOpenData, WxShareInfo, WxVerified } from 'nestjs-wx-open-data';
import { ApiWxOpenData } from 'nestjs-wx-open-data/swagger';

@Controller('groups')
export class GroupsController {
  /** `{ encryptedData, iv }` from `wx.getShareInfo` → `{ openGId }`. */
  @Post('share')
  @HttpCode(200)
  @WxVerified(WxShareInfo)
  @ApiWxOpenData({
    payload: WxShareInfo,
    response: { type: 'object', properties: { openGId: { type: 'string' } } },
  })
  share(@WxOpenData() share: WxShareInfo): { openGId: string } {
    return { openGId: share.openGId };
  }
}
