import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * Decrypted `wx.authPrivateMessage` data: which private-message activity the opened card belongs to.
 *
 * **An assumption.** WeChat says only that `encryptedData` holds "the encrypted activityId" under
 * the standard algorithm, and publishes no decrypted sample. This DTO assumes the usual open-data
 * shape, a JSON object `{ "activityId": "...", "watermark": { appid, timestamp } }`. If your
 * payloads differ, declare a DTO of your own (extend `WxOpenDataPayload`, or this class) and use it
 * in `@WxVerified(...)` instead: nothing else depends on this one.
 *
 * The client's `valid` flag is never evidence: compare `activityId` with the id your server created
 * for the share (`WxApiClient.createActivityId`) and stored; see {@link matchesActivity}.
 *
 * @public
 */
export class WxPrivateMessageInfo extends WxOpenDataPayload {
  /** The activity id the sharer's card carried, as `createActivityId` returned it. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  activityId!: string;
}

/**
 * Whether a verified private-message payload belongs to the activity your server created: the
 * check WeChat asks servers to make instead of trusting the client's `valid`.
 *
 * @param info - the payload, after `@WxVerified(WxPrivateMessageInfo)` (or `toOpenDataPayload`)
 * @param expectedActivityId - the id `createActivityId` returned for this share and you stored
 * @public
 */
export function matchesActivity(info: WxPrivateMessageInfo, expectedActivityId: string): boolean {
  return expectedActivityId.length > 0 && info.activityId === expectedActivityId;
}
