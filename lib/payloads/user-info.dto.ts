import { IsIn, IsInt, IsOptional, IsString, MaxLength } from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * Decrypted `wx.getUserInfo` / `wx.getUserProfile` data.
 *
 * Since 2022 WeChat often omits `openId` and `unionId` and may send the anonymous nickname
 * "微信用户" with empty location fields, so those are optional or may be empty.
 *
 * @public
 */
export class WxUserInfo extends WxOpenDataPayload {
  /** The user's openid; checked against the session's when present. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  openId?: string;

  /** The user's unionid (apps bound to an Open Platform account); checked when present. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  unionId?: string;

  @IsString()
  @MaxLength(256)
  nickName!: string;

  /** 0 unknown, 1 male, 2 female. */
  @IsInt()
  @IsIn([0, 1, 2])
  gender!: number;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  language?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  city?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  province?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  country?: string;

  @IsString()
  @MaxLength(2048)
  avatarUrl!: string;
}
