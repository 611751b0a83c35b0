import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  HttpCode,
  Post,
  UseFilters,
} from '@nestjs/common';
import {
  matchesActivity,
  WxApiClient,
  WxGameClubData,
  WxGroupEnterInfo,
  WxOpenData,
  WxOpenDataExceptionFilter,
  WxPhoneNumber,
  WxPrivateMessageInfo,
  WxUserEncrypted,
  WxSession,
  WxSessionService,
  WxSessionToken,
  WxUserInteractiveStorage,
  WxVerified,
  type WxSessionInfo,
} from 'nestjs-wx-open-data';
import type { WxInteractiveDataEntry, WxUserStorageEntry } from 'nestjs-wx-open-data/core';

/** What a private-message share needs to remember: activity id → who shared it. 120 days in production. */
const sharedActivities = new Map<string, string>();

/**
 * The less common open data and server APIs: group and chat-tool launch info, private messages,
 * mini-game data and storage, paid unionid, plugin login, risk rank.
 */
@Controller()
@UseFilters(WxOpenDataExceptionFilter)
export class MoreController {
  constructor(
    private readonly api: WxApiClient,
    private readonly sessions: WxSessionService,
  ) {}

  /** `{ encryptedData, iv }` from `wx.getGroupEnterInfo` / `wx.getChatToolInfo` → the chat. */
  @Post('groups/enter')
  @HttpCode(200)
  @WxVerified(WxGroupEnterInfo)
  enter(@WxOpenData() info: WxGroupEnterInfo) {
    return {
      opengid: info.opengid ?? null,
      open_single_roomid: info.open_single_roomid ?? null,
      group_openid: info.group_openid ?? null,
      chat_type: info.chat_type ?? null,
    };
  }

  /** The sharer asks for an activity id to put in `wx.updateShareMenu({ isPrivateMessage: true })`. */
  @Post('share/private/activity')
  @HttpCode(200)
  @WxVerified()
  async createActivity(@WxSession() session: WxSessionInfo) {
    const activity = await this.api.createActivityId({ openid: session.openid });
    sharedActivities.set(activity.activityId, session.openid);
    return activity;
  }

  /** A recipient's `wx.authPrivateMessage` result: the decrypted activity id decides, never `valid`. */
  @Post('share/private/open')
  @HttpCode(200)
  @WxVerified(WxPrivateMessageInfo)
  openPrivate(@WxOpenData() message: WxPrivateMessageInfo) {
    const sharer = sharedActivities.get(message.activityId);
    if (sharer === undefined || !matchesActivity(message, message.activityId)) {
      throw new ForbiddenException(
        'not a private message this server created: ask the sharer to share again',
      );
    }
    return { activityId: message.activityId, sharedBy: sharer };
  }

  /** `wx.getUserInteractiveStorage` → the interactive values. */
  @Post('games/interactive')
  @HttpCode(200)
  @WxVerified(WxUserInteractiveStorage)
  interactive(@WxOpenData() storage: WxUserInteractiveStorage) {
    return { kv_list: storage.kv_list };
  }

  /** `wx.getGameClubData` → the game club data (decryption is the proof; its `signature` is not). */
  @Post('games/club')
  @HttpCode(200)
  @WxVerified(WxGameClubData)
  club(@WxOpenData() data: WxGameClubData) {
    return { dataList: data.dataList };
  }

  /** Writes the user's game storage with WeChat (setUserStorage), signed with the session key. */
  @Post('games/storage')
  @HttpCode(204)
  @WxVerified()
  async storage(@WxSessionToken() token: string, @Body() body: { kv_list?: unknown }) {
    const entries = requireList<WxUserStorageEntry>(body, 'kv_list');
    const session = await this.sessions.require(token);
    await this.api.setUserStorage(session.openid, session.sessionKey, entries);
  }

  /** Writes the user's interactive data (setUserInteractiveData): keys "1"–"50", whole numbers. */
  @Post('games/interactive-data')
  @HttpCode(204)
  @WxVerified()
  async interactiveData(@WxSessionToken() token: string, @Body() body: { kv_list?: unknown }) {
    const entries = requireList<WxInteractiveDataEntry>(body, 'kv_list');
    const session = await this.sessions.require(token);
    await this.api.setUserInteractiveData(session.openid, session.sessionKey, entries);
  }

  /** The payer's unionid within 5 minutes of a WeChat Pay payment. */
  @Post('pay/unionid')
  @HttpCode(200)
  @WxVerified()
  async paidUnionId(@WxSession() session: WxSessionInfo, @Body() body: { transactionId?: unknown }) {
    if (typeof body?.transactionId !== 'string' || body.transactionId === '') {
      throw new BadRequestException({
        message: 'transactionId: must be a non-empty string',
        field: 'transactionId',
      });
    }
    return { unionid: await this.api.getPaidUnionId(session.openid, { transactionId: body.transactionId }) };
  }

  /** A plugin's `wx.pluginLogin` code → the openpid (no session: plugins have none here). */
  @Post('plugin/login')
  @HttpCode(200)
  async pluginLogin(@Body() body: { code?: unknown }) {
    if (typeof body?.code !== 'string' || body.code === '') {
      throw new BadRequestException({ message: 'code: must be a non-empty string', field: 'code' });
    }
    return { openpid: await this.api.getPluginOpenPId(body.code) };
  }

  /**
   * The old phone flow, `{ encryptedData, iv }`, with WeChat confirming the ciphertext is its own
   * and at most 3 days old (checkEncryptedData): the uniform 401 otherwise, 502/504 when WeChat is down.
   */
  @Post('me/phone/confirmed')
  @HttpCode(200)
  @WxVerified(WxPhoneNumber, { provenance: true })
  confirmedPhone(@WxOpenData() phone: WxPhoneNumber) {
    return { purePhoneNumber: phone.purePhoneNumber, countryCode: phone.countryCode };
  }

  /** The encrypted channel: `{ version, ciphertext }` under the user's latest encrypt key. */
  @Post('secure/echo')
  @HttpCode(200)
  @WxUserEncrypted()
  secureEcho(@WxOpenData() request: Record<string, unknown>) {
    return { received: request };
  }

  /** WeChat's risk rank of the session's user at registration (scene 0). */
  @Post('me/risk')
  @HttpCode(200)
  @WxVerified()
  async risk(@WxSession() session: WxSessionInfo) {
    return this.api.getUserRiskRank({ openid: session.openid, scene: 0, clientIp: '127.0.0.1' });
  }
}

/** The body's `field`, which must be an array; its entries are checked by the API client. */
function requireList<T>(body: unknown, field: string): T[] {
  const value =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
  if (!Array.isArray(value)) {
    throw new BadRequestException({ message: `${field}: must be an array`, field });
  }
  return value as T[];
}
