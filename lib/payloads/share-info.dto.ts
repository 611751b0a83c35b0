import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * Decrypted `wx.getShareInfo` data.
 *
 * @public
 */
export class WxShareInfo extends WxOpenDataPayload {
  /** The group's id, unique per mini program. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  openGId!: string;
}
