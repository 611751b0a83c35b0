export {
  resolveWxOpenDataConfig,
  WX_OPEN_DATA_CONFIG,
  WxOpenDataConfigError,
  type WxOpenDataConfig,
} from './config.js';
export { callSiteHolder, readCallSite, toContextError, type WxCallSite } from './call-site.js';
export * from './decorators.js';
export {
  toWxAnswer,
  toWxHttpException,
  WX_KEY_BUSY_BODY,
  WX_OPEN_DATA_REJECTED_BODY,
  WX_SESSION_REQUIRED_BODY,
  WX_SESSION_STORE_UNAVAILABLE_BODY,
  type WxAnswer,
  type WxAnswerBody,
} from './http-errors.js';
export type {
  WxOpenDataModuleAsyncOptions,
  WxOpenDataModuleRootOptions,
  WxOpenDataOptionsFactory,
} from './module-definition.js';
export * from './options.js';
export * from './route.js';
export * from './wx-api-clients.js';
export * from './wx-open-data-exception.filter.js';
export * from './wx-open-data.module.js';
export * from './wx-phone-numbers.service.js';
export * from './wx-session.service.js';
export * from './wx-verified.guard.js';
export { WxGraphQLError } from './graphql-call-site.js';
export { rememberWxHandshake } from './ws-call-site.js';
