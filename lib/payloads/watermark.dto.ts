import { IsInt, IsString, Min } from 'class-validator';
import type { WxWatermarkFields } from '../core/index.js';

/**
 * The watermark of a decrypted payload.
 *
 * @public
 */
export class WxWatermark implements WxWatermarkFields {
  /** The mini program the data was produced for. */
  @IsString()
  appid!: string;

  /** When WeChat produced the data, in seconds since the epoch. */
  @IsInt()
  @Min(0)
  timestamp!: number;
}
