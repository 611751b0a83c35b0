/**
 * The package root, `nestjs-wx-open-data`: what a Nest app uses. At most 60 names, type-only
 * exports included (scripts/api/ holds the report CI compares). Framework-free functions, the
 * types a store or guard of your own implements, and the detailed error classes are in
 * `nestjs-wx-open-data/core`; the Redis store in `/redis` (so these types never need the optional
 * peers keyv and @keyv/redis); health checks in `/terminus`; the test kit in `/testing`; OpenAPI
 * in `/swagger`.
 *
 * @packageDocumentation
 */

// The module and its options
export { WxOpenDataModule } from '../nest/wx-open-data.module.js';
export type { WxOpenDataModuleAsyncOptions, WxOpenDataOptionsFactory } from '../nest/module-definition.js';
export type {
  WxHttpRequest,
  WxMiniProgramOptions,
  WxOpenDataModuleOptions,
  WxResolvedIdentity,
} from '../nest/options.js';
export type { WxRedisOptions } from '../stores/redis/settings.js';

// Decorators, the guard and the filter, in every context (HTTP, GraphQL, WebSocket)
export { WxOpenData, WxSession, WxSessionToken, WxUserEncrypted, WxVerified } from '../nest/decorators.js';
export { WxPayload, type WxRouteOptions } from '../nest/route.js';
export { WxVerifiedGuard } from '../nest/wx-verified.guard.js';
export type { WxCallSite } from '../nest/call-site.js';
export { WxGraphQLError } from '../nest/graphql-call-site.js';
export { rememberWxHandshake } from '../nest/ws-call-site.js';
export { WxOpenDataExceptionFilter } from '../nest/wx-open-data-exception.filter.js';
export {
  WX_KEY_BUSY_BODY,
  WX_OPEN_DATA_REJECTED_BODY,
  WX_SESSION_REQUIRED_BODY,
  WX_SESSION_STORE_UNAVAILABLE_BODY,
  type WxAnswerCode,
} from '../nest/http-errors.js';

// Services
export {
  WxSessionService,
  type WxLoginIdentity,
  type WxLoginOptions,
  type WxLoginResult,
} from '../nest/wx-session.service.js';
export { WxPhoneNumbers } from '../nest/wx-phone-numbers.service.js';
export { WxApiClients } from '../nest/wx-api-clients.js';
export { WxApiClient } from '../api/wx-api-client.js';

// Payload DTOs
export { WxOpenDataPayload } from '../payloads/open-data-payload.dto.js';
export { WxWatermark } from '../payloads/watermark.dto.js';
export { WxUserInfo } from '../payloads/user-info.dto.js';
export { WxPhoneNumber } from '../payloads/phone-number.dto.js';
export { WxWeRunData } from '../payloads/we-run-data.dto.js';
export { WxShareInfo } from '../payloads/share-info.dto.js';
export { WxGroupEnterInfo } from '../payloads/group-enter-info.dto.js';
export { matchesActivity, WxPrivateMessageInfo } from '../payloads/private-message.dto.js';
export { WxGameClubData, WxUserInteractiveStorage } from '../payloads/mini-game.dto.js';

// Sessions and stores
export type { WxSessionInfo } from '../session/session.js';
export { WxSessionStore } from '../session/session-store.js';
export { MemoryWxSessionStore, type MemoryWxSessionStoreOptions } from '../stores/memory-session-store.js';
export { CacheManagerWxSessionStore } from '../stores/cache-manager/cache-manager-session-store.js';

// Errors: one hierarchy (every class, with the key-dependent ones, is in /core)
export {
  WxMalformedPayloadError,
  WxOpenDataConfigError,
  WxOpenDataError,
  WxSessionNotFoundError,
  type WxOpenDataErrorCode,
} from '../core/errors.js';
export { WxSessionStoreUnavailableError } from '../session/errors.js';
export {
  WxApiError,
  WxApiLimitError,
  WxApiSecurityError,
  WxApiTimeoutError,
  WxApiUnavailableError,
} from '../api/errors.js';
