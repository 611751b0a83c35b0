import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { WX_OPEN_DATA_REJECTED_BODY, WX_SESSION_REQUIRED_BODY } from '../nest/index.js';
import { WxPhoneNumber, WxShareInfo, WxUserInfo, WxWeRunData } from '../payloads/index.js';

/**
 * An OpenAPI schema object, as `@nestjs/swagger` takes it (its type is not exported by name).
 *
 * @public
 */
export type WxApiSchema = Exclude<
  NonNullable<Extract<NonNullable<Parameters<typeof ApiOkResponse>[0]>, { schema?: unknown }>['schema']>,
  { $ref: string }
>;
type SchemaObject = WxApiSchema;

/**
 * OpenAPI documentation for `@WxVerified` routes, as the separate entry point
 * `nestjs-wx-open-data/swagger`: only apps that import it need `@nestjs/swagger`.
 */

const string = (description: string, example?: string): SchemaObject => ({
  type: 'string',
  description,
  example,
});
const integer = (description: string, example?: number): SchemaObject => ({
  type: 'integer',
  description,
  example,
});

const watermark: SchemaObject = {
  type: 'object',
  description: 'Checked by the library: the session mini program and the freshness window',
  required: ['appid', 'timestamp'],
  properties: {
    appid: string('The mini program the data was made for', 'wx0123456789abcdef'),
    timestamp: integer('When WeChat made the data, seconds since the epoch', 1_764_000_000),
  },
};

/** OpenAPI schemas of the built-in payload DTOs, which carry class-validator rules only. */
const PAYLOAD_SCHEMAS = new Map<Type<unknown>, SchemaObject>([
  [
    WxUserInfo,
    {
      type: 'object',
      required: ['nickName', 'gender', 'avatarUrl', 'watermark'],
      properties: {
        openId: string("The user's openid, when WeChat sends it; equal to the session's"),
        unionId: string("The user's unionid, when WeChat sends it; equal to the session's"),
        nickName: string('Nickname', 'Band'),
        gender: { type: 'integer', enum: [0, 1, 2], description: '0 unknown, 1 male, 2 female' },
        language: string('Language', 'zh_CN'),
        city: string('City', 'Guangzhou'),
        province: string('Province', 'Guangdong'),
        country: string('Country', 'CN'),
        avatarUrl: string('Avatar URL'),
        watermark,
      },
    },
  ],
  [
    WxPhoneNumber,
    {
      type: 'object',
      required: ['phoneNumber', 'purePhoneNumber', 'countryCode', 'watermark'],
      properties: {
        phoneNumber: string('With the country code outside mainland China', '13580006666'),
        purePhoneNumber: string('Without the country code', '13580006666'),
        countryCode: string('Digits only; a number from WeChat is normalised to a string', '86'),
        watermark,
      },
    },
  ],
  [
    WxWeRunData,
    {
      type: 'object',
      required: ['stepInfoList', 'watermark'],
      properties: {
        stepInfoList: {
          type: 'array',
          items: {
            type: 'object',
            required: ['timestamp', 'step'],
            properties: {
              timestamp: integer('Midnight of the day, seconds since the epoch', 1_763_942_400),
              step: integer('Steps that day', 8_000),
            },
          },
        },
        watermark,
      },
    },
  ],
  [
    WxShareInfo,
    {
      type: 'object',
      required: ['openGId', 'watermark'],
      properties: { openGId: string("The group's id within this mini program"), watermark },
    },
  ],
]);

/**
 * The request body of an open-data route: what `wx.getUserInfo` and the other open-data APIs give
 * the mini program, sent on as JSON.
 *
 * @public
 */
export const WX_OPEN_DATA_ENVELOPE_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    rawData: string('The signed plain JSON, exactly as received (user info only)'),
    signature: string('sha1(rawData + session_key), 40 hex characters (user info only)'),
    encryptedData: string('Canonical base64 of the AES-128-CBC ciphertext'),
    iv: string('Canonical base64 of the 16-byte iv'),
  },
};

/**
 * Options of {@link ApiWxOpenData}.
 *
 * @public
 */
export interface ApiWxOpenDataOptions {
  /**
   * The decrypted payload's DTO, as given to `@WxVerified`: documents the 200 answer (built-in
   * DTOs have their schema here; your own DTOs need `@ApiProperty` or the Swagger CLI plugin).
   */
  payload?: Type<unknown>;
  /** The 200 answer when the handler returns something other than the payload. */
  response?: Type<unknown> | SchemaObject;
  /** The request body schema; default the open-data envelope. */
  body?: SchemaObject;
}

/**
 * Documents a `@WxVerified` route: bearer session token, the encrypted envelope as the body, the
 * typed result, the 400 of a malformed envelope and the uniform 401.
 *
 * ```ts
 * @Post('profile')
 * @WxVerified(WxUserInfo)
 * @ApiWxOpenData({ payload: WxUserInfo })
 * profile(@WxOpenData() profile: WxUserInfo) {}
 * ```
 *
 * @public
 */
export function ApiWxOpenData(options: ApiWxOpenDataOptions = {}): MethodDecorator & ClassDecorator {
  const response = options.response ?? options.payload;
  const known =
    response === undefined || typeof response !== 'function' ? undefined : PAYLOAD_SCHEMAS.get(response);
  const ok =
    response === undefined
      ? {}
      : typeof response === 'function'
        ? known === undefined
          ? { type: response }
          : { schema: known }
        : { schema: response };
  return applyDecorators(
    ApiBearerAuth(),
    ApiBody({ schema: options.body ?? WX_OPEN_DATA_ENVELOPE_SCHEMA }),
    ApiOkResponse({ description: 'Verified, decrypted and validated', ...ok }),
    ApiBadRequestResponse({ description: 'Malformed envelope: the body names the field' }),
    ApiUnauthorizedResponse({
      description: 'No live session, or open data rejected (one body for every key-dependent failure)',
      schema: {
        oneOf: [
          { type: 'object', example: WX_OPEN_DATA_REJECTED_BODY },
          { type: 'object', example: WX_SESSION_REQUIRED_BODY },
        ],
      },
    }),
  );
}
