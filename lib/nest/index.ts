export {
  resolveWxOpenDataConfig,
  WX_OPEN_DATA_CONFIG,
  WxOpenDataConfigError,
  type WxOpenDataConfig,
} from './config.js';
export * from './decorators.js';
export {
  toWxHttpException,
  WX_OPEN_DATA_REJECTED_BODY,
  WX_SESSION_REQUIRED_BODY,
  WX_SESSION_STORE_UNAVAILABLE_BODY,
} from './http-errors.js';
export type {
  WxOpenDataModuleAsyncOptions,
  WxOpenDataModuleRootOptions,
  WxOpenDataOptionsFactory,
} from './module-definition.js';
export * from './options.js';
export type { WxRequestState } from './request-state.js';
export * from './wx-api-clients.js';
export * from './wx-decrypt.interceptor.js';
export * from './wx-open-data-exception.filter.js';
export * from './wx-open-data.module.js';
export * from './wx-phone-numbers.service.js';
export * from './wx-session.service.js';
export * from './wx-signature.guard.js';
