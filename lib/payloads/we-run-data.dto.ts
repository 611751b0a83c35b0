import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsObject, Min, ValidateNested } from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * One day of WeRun steps.
 *
 * @public
 */
export class WxStepInfo {
  /** Midnight of the day, in seconds since the epoch. */
  @IsInt()
  @Min(0)
  timestamp!: number;

  @IsInt()
  @Min(0)
  step!: number;
}

/**
 * Decrypted `wx.getWeRunData` data: the last 31 days of steps.
 *
 * @public
 */
export class WxWeRunData extends WxOpenDataPayload {
  @IsArray()
  @ArrayMaxSize(366)
  // ValidateNested walks into nested arrays; entries must be objects themselves.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => WxStepInfo)
  stepInfoList!: WxStepInfo[];
}
