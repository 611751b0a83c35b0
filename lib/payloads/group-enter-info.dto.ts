import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * The kinds of chat `chat_type` names, as WeChat documents them on its `wx.openChatTool` page.
 *
 * @public
 */
export const WX_CHAT_TYPES = Object.freeze({
  /** A one-to-one chat with a WeChat contact. */
  weChatContact: 1,
  /** A one-to-one chat with a WeCom contact. */
  weComContact: 2,
  /** An ordinary WeChat group. */
  weChatGroup: 3,
  /** A WeCom interop group. */
  weComGroup: 4,
} as const);

/**
 * One of the values of {@link WX_CHAT_TYPES}.
 *
 * @public
 */
export type WxChatType = (typeof WX_CHAT_TYPES)[keyof typeof WX_CHAT_TYPES];

/** WeChat sends `""` for ids that do not apply: read it as "not provided". */
const emptyAsAbsent = ({ value }: { value: unknown }): unknown => (value === '' ? undefined : value);

/**
 * Decrypted `wx.getGroupEnterInfo` data, and the chat tool's `wx.getChatToolInfo` data (the same
 * shape): where the mini program was opened from.
 *
 * A multi-person group has `opengid` (the same id space as `WxShareInfo.openGId`); a
 * one-to-one chat has `open_single_roomid` instead. At least one of the two is required. The empty
 * strings WeChat sends for ids that do not apply become `undefined`. The field names are WeChat's
 * (snake case, lower-case `opengid`), so a payload maps onto the DTO unchanged.
 *
 * Bind the ids to the session's user only after this DTO passed: the guard has then checked the
 * key, the watermark and the DTO.
 *
 * @public
 */
export class WxGroupEnterInfo extends WxOpenDataPayload {
  /** The group's id, unique per mini program; absent in a one-to-one chat. */
  @Transform(emptyAsAbsent)
  @ValidateIf((info: WxGroupEnterInfo) => info.open_single_roomid === undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  opengid?: string;

  /** The one-to-one chat's id (`allowSingleChat`, or the chat tool); absent in a group. */
  @Transform(emptyAsAbsent)
  @ValidateIf((info: WxGroupEnterInfo) => info.opengid === undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  open_single_roomid?: string;

  /** The user's id within this chat (`needGroupOpenID`, or the chat tool). */
  @Transform(emptyAsAbsent)
  @IsOptional()
  @IsString()
  @MaxLength(128)
  group_openid?: string;

  /** What kind of chat, see {@link WX_CHAT_TYPES}; older base libraries leave it out. */
  @IsOptional()
  @IsInt()
  @IsIn(Object.values(WX_CHAT_TYPES))
  chat_type?: WxChatType;
}
