/**
 * `nestjs-wx-open-data/core`: the framework-free part, for code outside Nest (a worker, another
 * framework) and for stores of your own: signature check, strict decryption, watermark and
 * identity checks, DTO conversion, the WeChat server client, and the errors they throw.
 *
 * @packageDocumentation
 */

// Open data: the checks in the order a request needs them
export { readEncryptedEnvelope, readSignedRawData, WX_ENVELOPE_LIMITS } from '../core/envelope.js';
export type { WxEncryptedEnvelope, WxSignedRawData } from '../core/envelope.js';
export { verifySignature } from '../core/signature.js';
export {
  decryptOpenData,
  type WxDecryptedOpenData,
  type WxDecryptOptions,
  type WxEncryptedOpenData,
} from '../core/decrypt.js';
export {
  checkWatermark,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_WATERMARK_MAX_AGE_SECONDS,
  type WxWatermarkCheck,
  type WxWatermarkFields,
} from '../core/watermark.js';
export { checkOpenDataIdentity, type WxUserIdentity } from '../core/identity.js';
export { toOpenDataPayload, type WxPayloadType } from '../payloads/to-payload.js';

// Payload parts and the values their rules use
export { WxStepInfo } from '../payloads/we-run-data.dto.js';
export { WX_CHAT_TYPES, type WxChatType } from '../payloads/group-enter-info.dto.js';
export {
  WX_GAME_CLUB_DATA_TYPES,
  WX_INTERACTIVE_KEY_PATTERN,
  WxGameClubDataItem,
  WxInteractiveKv,
} from '../payloads/mini-game.dto.js';

// The WeChat server API: the API layer's whole surface, its errors included
export * from '../api/index.js';
export { readBearerToken } from '../nest/options.js';

// Sessions, for a store of your own
export { createSessionToken, isSessionToken } from '../session/token.js';
export { toSessionInfo, wxUserId } from '../session/session.js';
export * from '../session/session-store.js';
export type { WxActiveSession, WxSessionInfo, WxSessionRecord, WxUserKeys } from '../session/session.js';

// Errors (the same classes as the root's), with the types of their fields
export * from '../core/errors.js';
export * from '../session/errors.js';
