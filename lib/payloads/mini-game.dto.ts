import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * The keys interactive data may use: the strings `"1"` to `"50"`.
 *
 * @public
 */
export const WX_INTERACTIVE_KEY_PATTERN = /^(?:[1-9]|[1-4][0-9]|50)$/;

/**
 * One interactive value (KVData) of a mini game: key `"1"`–`"50"`, a whole number.
 *
 * @public
 */
export class WxInteractiveKv {
  @IsString()
  @Matches(WX_INTERACTIVE_KEY_PATTERN)
  key!: string;

  /** The number setUserInteractiveData wrote; a numeric string is read as its number. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?[0-9]{1,15}$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  value!: number;
}

/**
 * Decrypted `wx.getUserInteractiveStorage` data: the interactive values (keys `"1"`–`"50"`)
 * written by setUserInteractiveData or `wx.modifyFriendInteractiveStorage`.
 *
 * **An assumption.** WeChat documents the content as a "KVDataList" of `{ key, value }` without a
 * JSON sample; this DTO assumes the list sits under `kv_list` (as the write API names it, and as a
 * community report shows). Adjust with a DTO of your own if your payloads differ.
 *
 * @public
 */
export class WxUserInteractiveStorage extends WxOpenDataPayload {
  @IsArray()
  @ArrayMaxSize(50)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => WxInteractiveKv)
  kv_list!: WxInteractiveKv[];
}

/**
 * The data types of `wx.getGameClubData`, as WeChat documents them (there is no type 2).
 *
 * @public
 */
export const WX_GAME_CLUB_DATA_TYPES = Object.freeze({
  /** When the user joined the game club, in seconds since the epoch. */
  joinTime: 1,
  /** Whether the user is muted: 0 or 1. */
  muted: 3,
  /** Likes the user gave today. */
  likesToday: 4,
  /** Comments the user wrote today. */
  commentsToday: 5,
  /** Posts today. */
  postsToday: 6,
  /** Video posts today. */
  videoPostsToday: 7,
  /** Likes of official posts today. */
  officialLikesToday: 8,
  /** Comments on official posts today. */
  officialCommentsToday: 9,
  /** Posts under the topic named by `subKey`. */
  topicPosts: 10,
  /** When the game was last recommended to the user, in seconds since the epoch. */
  lastRecommendation: 11,
} as const);

/**
 * One entry of `dataList`.
 *
 * @public
 */
export class WxGameClubDataItem {
  /** See {@link WX_GAME_CLUB_DATA_TYPES}. */
  @IsInt()
  @IsIn(Object.values(WX_GAME_CLUB_DATA_TYPES))
  dataType!: number;

  @IsInt()
  @Min(0)
  value!: number;

  /** The topic of type 10, when WeChat echoes it. */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  subKey?: string;
}

/**
 * Decrypted `wx.getGameClubData` data: `{ dataList: [{ dataType, value }] }`.
 *
 * Trust the decryption, not the `signature` WeChat returns beside it: the docs say
 * `sha1(rawData + session_key)` but no `rawData` is returned to check it against.
 *
 * @public
 */
export class WxGameClubData extends WxOpenDataPayload {
  @IsArray()
  @ArrayMaxSize(64)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => WxGameClubDataItem)
  dataList!: WxGameClubDataItem[];
}
