export type { WxAccessTokenLock, WxAccessTokenStore, WxSharedAccessToken } from './access-token-store.js';
export * from './errors.js';
export { describeWxErrcode } from './errcodes.js';
export type { WxFetch } from './http-exchange.js';
export * from './security/index.js';
export { WX_API_BASE_URL, type WxApiCallObserver, type WxApiClientOptions } from './options.js';
export { sessionKeySignature } from './session-key-signature.js';
export {
  encryptedMsgHash,
  WX_USER_STORAGE_LIMITS,
  WX_PROVENANCE_MAX_AGE_SECONDS,
  type WxActivityId,
  type WxActivitySharer,
  type WxEncryptedDataCheck,
  type WxInteractiveDataEntry,
  type WxPaidOrder,
  type WxPhoneInfo,
  type WxUserEncryptKey,
  type WxUserRiskRank,
  type WxUserRiskRankRequest,
  type WxUserStorageEntry,
} from './mini-program-apis.js';
export { WxApiClient, type WxCode2SessionResult } from './wx-api-client.js';
export type { WxAccessTokenStatus } from './access-token-cache.js';
export * from './user-encrypt-channel.js';
