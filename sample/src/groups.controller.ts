import { Controller, HttpCode, Post } from '@nestjs/common';
import { WxOpenData, WxShareInfo, WxVerified } from 'nestjs-wx-open-data';

@Controller('groups')
export class GroupsController {
  /** `{ encryptedData, iv }` from `wx.getShareInfo` → `{ openGId }`. */
  @Post('share')
  @HttpCode(200)
  @WxVerified(WxShareInfo)
  share(@WxOpenData() share: WxShareInfo): { openGId: string } {
    return { openGId: share.openGId };
  }
}
