export type {
  CacheManagerWxSessionStoreOptions,
  WxCacheManagerCache,
} from './cache-manager-session-store.js';
export { CacheManagerWxSessionStore } from './cache-manager-session-store.js';
