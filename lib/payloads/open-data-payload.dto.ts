import { Type } from 'class-transformer';
import { IsDefined, IsObject, ValidateNested } from 'class-validator';
import { WxWatermark } from './watermark.dto.js';

/**
 * Base of every encrypted payload: extend it to declare a DTO for a payload kind of your own.
 *
 * @public
 */
export abstract class WxOpenDataPayload {
  /** Already checked for appid and freshness before the DTO is built. */
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => WxWatermark)
  watermark!: WxWatermark;
}
