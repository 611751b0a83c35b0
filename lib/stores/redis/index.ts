export type {
  RedisWxSessionStoreOptions,
  WxIoRedisClient,
  WxNodeRedisClient,
  WxRedisClient,
  WxRedisConnectOptions,
} from './options.js';
export { RedisWxSessionStore } from './redis-session-store.js';
export type { WxStoreEncryptionKey, WxStoreEncryptionOptions } from './secret-seal.js';
