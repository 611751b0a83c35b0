import { createHash } from 'node:crypto';
import { decodeStrictBase64 } from '../core/base64.js';
import { WxApiLimitError, WxApiUnavailableError, type WxApiOperation } from './errors.js';
import type { WxJsonObject } from './http-exchange.js';

/**
 * The phone number getuserphonenumber answered (`phone_info`), its shape checked. Validate it as a
 * `WxPhoneNumber` and check its watermark before trusting it (`WxPhoneNumbers.fromCode` does).
 *
 * @public
 */
export interface WxPhoneInfo {
  /** With the country code for numbers outside mainland China. */
  readonly phoneNumber: string;
  /** Without the country code. */
  readonly purePhoneNumber: string;
  /** Digits; a number WeChat sent is turned into its string. */
  readonly countryCode: string;
  readonly watermark: { readonly appid: string; readonly timestamp: number };
}

/**
 * WeChat's verdict on an `encryptedData` (checkencryptedmsg).
 *
 * @public
 */
export interface WxEncryptedDataCheck {
  /**
   * Whether WeChat produced this data for this app within the last 3 days. `false` also for
   * errcode 1 ("data not exist": unknown, older than 3 days, or another app's).
   */
  readonly valid: boolean;
  /** When WeChat produced the data, in seconds since the epoch; only when `valid`. */
  readonly createdAt?: number;
}

/**
 * One of the user's encrypt keys (getuserencryptkey), for the encrypted network channel.
 *
 * @public
 */
export interface WxUserEncryptKey {
  /** Base64 of the 16-byte AES key. Secret. */
  readonly encryptKey: string;
  /** The version the mini program names when it uses this key. */
  readonly version: number;
  /** Seconds the key has left; 0 when it has expired. */
  readonly expiresInSeconds: number;
  /** The 16-character iv string WeChat pairs with the key. */
  readonly iv: string;
  /** When the key was created, in seconds since the epoch. */
  readonly createdAt: number;
}

/**
 * One pair of setUserStorage: `value` is a string (a JSON document for ranking keys).
 *
 * @public
 */
export interface WxUserStorageEntry {
  readonly key: string;
  readonly value: string;
}

/**
 * One pair of setUserInteractiveData: key `"1"` to `"50"`, a whole-number value.
 *
 * @public
 */
export interface WxInteractiveDataEntry {
  readonly key: string;
  readonly value: number;
}

/**
 * How getPaidUnionId finds the payment: its WeChat Pay transaction id, or the merchant id with
 * the merchant's order number.
 *
 * @public
 */
export type WxPaidOrder =
  { readonly transactionId: string } | { readonly mchId: string; readonly outTradeNo: string };

/**
 * The request of getUserRiskRank. `appid` is the client's own.
 *
 * @public
 */
export interface WxUserRiskRankRequest {
  readonly openid: string;
  /** 0 registration, 1 marketing fraud, 2 UGC (mini games). */
  readonly scene: 0 | 1 | 2;
  /** The user's IP address as your server saw it. */
  readonly clientIp: string;
  readonly mobileNo?: string;
  readonly emailAddress?: string;
  readonly extendedInfo?: string;
  /** Skips WeChat's recent-visit check (for tests); default false. */
  readonly isTest?: boolean;
}

/**
 * WeChat's risk assessment of a user.
 *
 * @public
 */
export interface WxUserRiskRank {
  /** 0 (lowest) to 4 (highest risk). */
  readonly riskRank: 0 | 1 | 2 | 3 | 4;
  /**
   * WeChat's id of this assessment (the answer's `unoin_id`, sic): a request id to quote to
   * WeChat, **not** a unionid.
   */
  readonly requestId: number;
}

/**
 * Who may share a private message with the activity id: exactly one of openid or unionid.
 *
 * @public
 */
export type WxActivitySharer = { readonly openid: string } | { readonly unionid: string };

/**
 * A private-message activity id (activityid/create).
 *
 * @public
 */
export interface WxActivityId {
  readonly activityId: string;
  /**
   * WeChat's `expiration_time` as given (seconds since the epoch): the share deadline. Keep the
   * activity id ↔ your activity mapping longer (WeChat's guide: verifiable for 120 days).
   */
  readonly expiresAt: number;
}

/** setUserStorage's limits, as WeChat documents them. */
export const WX_USER_STORAGE_LIMITS = Object.freeze({
  maxPairs: 128,
  maxPairBytes: 1024,
  maxKeyBytes: 128,
});

const INTERACTIVE_KEY = /^(?:[1-9]|[1-4][0-9]|50)$/;
const MAX_INTERACTIVE_PAIRS = 50;

/**
 * `encrypted_msg_hash` of checkencryptedmsg: lower-case hex SHA-256 of the **base64 text** of
 * `encryptedData` exactly as WeChat gave it to the client (not of the decoded bytes), as WeChat's
 * own example shows.
 *
 * @public
 */
export function encryptedMsgHash(encryptedData: string): string {
  return createHash('sha256').update(encryptedData, 'utf8').digest('hex');
}

/** A list of 1 to `max` items, or the limit error naming `field`. */
function checkListLength(
  operation: WxApiOperation,
  field: string,
  length: number,
  max: number,
  items: string,
): void {
  if (length === 0) throw new WxApiLimitError(operation, 'empty', field, 'is empty');
  if (length > max) throw new WxApiLimitError(operation, 'pairs', field, `has more than ${max} ${items}`);
}

/** A storage key: a non-empty string within the key limit; answers its UTF-8 length. */
function checkStorageKey(operation: WxApiOperation, field: string, key: unknown): number {
  if (typeof key !== 'string' || key === '') {
    throw new WxApiLimitError(operation, 'empty', field, 'must be a non-empty string');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > WX_USER_STORAGE_LIMITS.maxKeyBytes) {
    throw new WxApiLimitError(
      operation,
      'key-bytes',
      field,
      `is over ${WX_USER_STORAGE_LIMITS.maxKeyBytes} bytes`,
    );
  }
  return bytes;
}

/** @internal Checks setUserStorage pairs against the documented limits. */
export function checkUserStorage(operation: WxApiOperation, entries: readonly WxUserStorageEntry[]): void {
  checkListLength(operation, 'kv_list', entries.length, WX_USER_STORAGE_LIMITS.maxPairs, 'pairs');
  entries.forEach((entry, index) => {
    const field = `kv_list.${index}`;
    const keyBytes = checkStorageKey(operation, `${field}.key`, entry.key);
    if (typeof entry.value !== 'string') {
      throw new WxApiLimitError(operation, 'string-value', `${field}.value`, 'must be a string');
    }
    if (keyBytes + Buffer.byteLength(entry.value, 'utf8') > WX_USER_STORAGE_LIMITS.maxPairBytes) {
      throw new WxApiLimitError(
        operation,
        'pair-bytes',
        field,
        `key and value are over ${WX_USER_STORAGE_LIMITS.maxPairBytes} bytes`,
      );
    }
  });
}

/** @internal Checks removeUserStorage keys. */
export function checkStorageKeys(operation: WxApiOperation, keys: readonly string[]): void {
  checkListLength(operation, 'key', keys.length, WX_USER_STORAGE_LIMITS.maxPairs, 'keys');
  keys.forEach((key, index) => checkStorageKey(operation, `key.${index}`, key));
}

/** @internal Checks setUserInteractiveData pairs: keys "1"–"50", whole-number values. */
export function checkInteractiveData(
  operation: WxApiOperation,
  entries: readonly WxInteractiveDataEntry[],
): void {
  checkListLength(operation, 'kv_list', entries.length, MAX_INTERACTIVE_PAIRS, 'pairs');
  entries.forEach((entry, index) => {
    if (typeof entry.key !== 'string' || !INTERACTIVE_KEY.test(entry.key)) {
      throw new WxApiLimitError(operation, 'interactive-key', `kv_list.${index}.key`, 'must be "1" to "50"');
    }
    if (!Number.isSafeInteger(entry.value)) {
      throw new WxApiLimitError(
        operation,
        'interactive-value',
        `kv_list.${index}.value`,
        'must be a whole number',
      );
    }
  });
}

/** @internal */
export function readPhoneInfo(answer: WxJsonObject): WxPhoneInfo {
  const info = answer['phone_info'];
  if (!isObject(info)) throw invalid('getPhoneNumber', 'missing phone_info');
  const { phoneNumber, purePhoneNumber, countryCode, watermark } = info;
  const country =
    typeof countryCode === 'number' && Number.isInteger(countryCode) ? String(countryCode) : countryCode;
  if (typeof phoneNumber !== 'string' || typeof purePhoneNumber !== 'string' || typeof country !== 'string') {
    throw invalid('getPhoneNumber', 'malformed phone_info');
  }
  if (
    !isObject(watermark) ||
    typeof watermark['appid'] !== 'string' ||
    !Number.isSafeInteger(watermark['timestamp'])
  ) {
    throw invalid('getPhoneNumber', 'malformed watermark');
  }
  return {
    phoneNumber,
    purePhoneNumber,
    countryCode: country,
    watermark: { appid: watermark['appid'], timestamp: watermark['timestamp'] as number },
  };
}

/** @internal */
export function readEncryptedDataCheck(answer: WxJsonObject): WxEncryptedDataCheck {
  // WeChat spells it `vaild`; `valid` is read too, should WeChat ever fix it.
  const valid = answer['vaild'] ?? answer['valid'];
  if (typeof valid !== 'boolean') throw invalid('checkEncryptedData', 'malformed vaild');
  if (!valid) return { valid };
  const createdAt = answer['create_time'];
  if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0) {
    throw invalid('checkEncryptedData', 'malformed create_time');
  }
  return { valid, createdAt: createdAt as number };
}

/** @internal */
export function readUserEncryptKeys(answer: WxJsonObject): WxUserEncryptKey[] {
  const list = answer['key_info_list'];
  if (!Array.isArray(list)) throw invalid('getUserEncryptKey', 'missing key_info_list');
  return list.map((entry: unknown) => {
    if (!isObject(entry)) throw invalid('getUserEncryptKey', 'malformed key_info_list');
    const { encrypt_key: encryptKey, version, expire_in: expiresIn, iv, create_time: createdAt } = entry;
    if (typeof encryptKey !== 'string' || decodeStrictBase64(encryptKey)?.length !== 16) {
      throw invalid('getUserEncryptKey', 'malformed encrypt_key');
    }
    if (typeof iv !== 'string' || Buffer.byteLength(iv, 'utf8') !== 16)
      throw invalid('getUserEncryptKey', 'malformed iv');
    if (
      !Number.isSafeInteger(version) ||
      !Number.isSafeInteger(expiresIn) ||
      !Number.isSafeInteger(createdAt)
    ) {
      throw invalid('getUserEncryptKey', 'malformed version, expire_in or create_time');
    }
    return {
      encryptKey,
      version: version as number,
      expiresInSeconds: Math.max(0, expiresIn as number),
      iv,
      createdAt: createdAt as number,
    };
  });
}

/** @internal */
export function readRiskRank(answer: WxJsonObject): WxUserRiskRank {
  const { risk_rank: riskRank, unoin_id: requestId } = answer;
  if (riskRank !== 0 && riskRank !== 1 && riskRank !== 2 && riskRank !== 3 && riskRank !== 4) {
    throw invalid('getUserRiskRank', 'malformed risk_rank');
  }
  if (!Number.isSafeInteger(requestId)) throw invalid('getUserRiskRank', 'malformed unoin_id');
  return { riskRank, requestId: requestId as number };
}

/** @internal */
export function readActivityId(answer: WxJsonObject): WxActivityId {
  const { activity_id: activityId, expiration_time: expiresAt } = answer;
  if (typeof activityId !== 'string' || activityId === '')
    throw invalid('createActivityId', 'malformed activity_id');
  if (!Number.isSafeInteger(expiresAt)) throw invalid('createActivityId', 'malformed expiration_time');
  return { activityId, expiresAt: expiresAt as number };
}

/** @internal A non-empty string field of an answer, or the invalid-response error. */
export function readStringField(answer: WxJsonObject, name: string, operation: WxApiOperation): string {
  const value = answer[name];
  if (typeof value !== 'string' || value === '') throw invalid(operation, `malformed ${name}`);
  return value;
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(operation: WxApiOperation, detail: string): WxApiUnavailableError {
  return new WxApiUnavailableError(operation, 'invalid-response', detail);
}

/** How old checkEncryptedData lets confirmed data be, in seconds: 3 days. */
export const WX_PROVENANCE_MAX_AGE_SECONDS = 3 * 86_400;
