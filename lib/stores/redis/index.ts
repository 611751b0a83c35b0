export type {
  RedisWxSessionStoreOptions,
  WxIoRedisClient,
  WxNodeRedisClient,
  WxRedisClient,
  WxRedisConnectOptions,
} from './options.js';
export type { WxRedisOptions, WxRedisStoreSettings } from './settings.js';
export { RedisWxSessionStore } from './redis-session-store.js';
export type { WxStoreEncryptionKey, WxStoreEncryptionOptions } from './secret-seal.js';
