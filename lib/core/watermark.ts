import { WxWatermarkError } from './errors.js';

/**
 * The watermark WeChat embeds in every encrypted payload.
 *
 * @public
 */
export interface WxWatermarkFields {
  /** The mini program the data was produced for. */
  appid: string;
  /** When WeChat produced the data, in seconds since the epoch. */
  timestamp: number;
}

/**
 * How a watermark is checked.
 *
 * @public
 */
export interface WxWatermarkCheck {
  /** When given, `watermark.appid` must equal it exactly. */
  appId?: string;
  /**
   * How old, in whole seconds, the data may be. Default 300. `false` switches the clock checks
   * off (the timestamp must still be present).
   */
  maxAgeSeconds?: number | false;
  /** How far ahead of `now`, in whole seconds, a timestamp may be (clock skew). Default 60. */
  clockToleranceSeconds?: number;
  /** The current time: a `Date` or milliseconds since the epoch. Default `Date.now()`. */
  now?: number | Date;
}

/** Default freshness window: five minutes back. */
export const DEFAULT_WATERMARK_MAX_AGE_SECONDS = 300;
/** Default tolerance for a client clock ahead of ours. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

/**
 * Checks a decrypted payload's watermark. The window is inclusive and in whole seconds: with
 * the defaults, timestamps from `now - 300` to `now + 60` pass.
 *
 * @throws {@link WxWatermarkError}
 * @public
 */
export function checkWatermark(watermark: unknown, check: WxWatermarkCheck = {}): WxWatermarkFields {
  if (!isWatermark(watermark)) throw new WxWatermarkError('WATERMARK_INVALID');
  if (check.appId !== undefined && watermark.appid !== check.appId) {
    throw new WxWatermarkError('WATERMARK_APPID_MISMATCH');
  }
  const maxAge = check.maxAgeSeconds ?? DEFAULT_WATERMARK_MAX_AGE_SECONDS;
  if (maxAge === false) return watermark;
  const tolerance = check.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const now = check.now ?? Date.now();
  const nowMs = typeof now === 'number' ? now : now.getTime();
  // Every comparison with NaN is false: a bad clock or limit would switch the check off.
  if (!Number.isFinite(nowMs)) throw new RangeError('checkWatermark: now must be a valid time');
  if (!(maxAge >= 0) || !(tolerance >= 0)) {
    throw new RangeError(
      'checkWatermark: maxAgeSeconds and clockToleranceSeconds must be non-negative numbers',
    );
  }
  const age = Math.floor(nowMs / 1000) - watermark.timestamp;
  if (age > maxAge) throw new WxWatermarkError('WATERMARK_EXPIRED');
  if (-age > tolerance) throw new WxWatermarkError('WATERMARK_FROM_FUTURE');
  return watermark;
}

function isWatermark(value: unknown): value is WxWatermarkFields {
  if (typeof value !== 'object' || value === null) return false;
  const { appid, timestamp } = value as Record<string, unknown>;
  return typeof appid === 'string' && Number.isSafeInteger(timestamp) && (timestamp as number) >= 0;
}
