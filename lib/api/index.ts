export type { WxAccessTokenLock, WxAccessTokenStore, WxSharedAccessToken } from './access-token-store.js';
export * from './errors.js';
export { describeWxErrcode } from './errcodes.js';
export type { WxFetch } from './http-exchange.js';
export * from './security/index.js';
export { WX_API_BASE_URL, type WxApiCallObserver, type WxApiClientOptions } from './options.js';
export { sessionKeySignature } from './session-key-signature.js';
export { WxApiClient, type WxCode2SessionResult, type WxRawPhoneInfo } from './wx-api-client.js';
export type { WxAccessTokenStatus } from './access-token-cache.js';
