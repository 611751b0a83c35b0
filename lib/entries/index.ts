/**
 * The package root, `nestjs-wx-open-data`: what a Nest app uses. At most 60 names, type-only
 * exports included (scripts/api/ holds the report CI compares). Framework-free functions are in
 * `nestjs-wx-open-data/core`, the Redis store in `nestjs-wx-open-data/redis` (so these types never
 * need the optional peers keyv and @keyv/redis), the test kit in `/testing`, OpenAPI in `/swagger`.
 *
 * @packageDocumentation
 */

// The module and its options
export { WxOpenDataModule } from '../nest/wx-open-data.module.js';
export type { WxOpenDataModuleAsyncOptions, WxOpenDataOptionsFactory } from '../nest/module-definition.js';
export {
  readBearerToken,
  type WxHttpRequest,
  type WxMiniProgramOptions,
  type WxOpenDataModuleOptions,
} from '../nest/options.js';

// Decorators, the guard, the interceptor and the filter
export { WxOpenData, WxSession, WxSessionToken, WxVerified } from '../nest/decorators.js';
export { WxSignatureGuard } from '../nest/wx-signature.guard.js';
export { WxDecryptInterceptor } from '../nest/wx-decrypt.interceptor.js';
export { WxOpenDataExceptionFilter } from '../nest/wx-open-data-exception.filter.js';
export {
  WX_OPEN_DATA_REJECTED_BODY,
  WX_SESSION_REQUIRED_BODY,
  WX_SESSION_STORE_UNAVAILABLE_BODY,
} from '../nest/http-errors.js';

// Services
export { WxSessionService, type WxLoginResult } from '../nest/wx-session.service.js';
export { WxPhoneNumbers } from '../nest/wx-phone-numbers.service.js';
export { WxApiClients } from '../nest/wx-api-clients.js';
export { WxApiClient } from '../api/wx-api-client.js';
export type { WxApiClientOptions } from '../api/options.js';

// Payload DTOs
export { WxOpenDataPayload } from '../payloads/open-data-payload.dto.js';
export { WxWatermark } from '../payloads/watermark.dto.js';
export { WxUserInfo } from '../payloads/user-info.dto.js';
export { WxPhoneNumber } from '../payloads/phone-number.dto.js';
export { WxStepInfo, WxWeRunData } from '../payloads/we-run-data.dto.js';
export { WxShareInfo } from '../payloads/share-info.dto.js';

// Sessions and stores (the types a store of your own implements included)
export type {
  WxActiveSession,
  WxSessionInfo,
  WxSessionRecord,
  WxSessionWithKeys,
  WxUserKeys,
} from '../session/index.js';
export { WxSessionStore } from '../session/session-store.js';
export type { WxAccessTokenLock, WxSharedAccessToken } from '../api/access-token-store.js';
export { MemoryWxSessionStore, type MemoryWxSessionStoreOptions } from '../stores/memory-session-store.js';

// Errors: one hierarchy
export {
  WxDecryptionError,
  WxIdentityMismatchError,
  WxMalformedPayloadError,
  WxOpenDataConfigError,
  WxOpenDataError,
  WxPayloadValidationError,
  WxSessionKeyError,
  WxSessionNotFoundError,
  WxSignatureError,
  WxWatermarkError,
  type WxOpenDataErrorCode,
} from '../core/errors.js';
export { WxReplayedPayloadError, WxSessionStoreUnavailableError } from '../session/errors.js';
export { WxApiCallError, WxApiError, WxApiTimeoutError, WxApiUnavailableError } from '../api/errors.js';
