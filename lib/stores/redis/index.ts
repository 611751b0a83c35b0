export type {
  RedisWxSessionStoreOptions,
  WxIoRedisClient,
  WxNodeRedisClient,
  WxRedisClient,
  WxRedisConnectOptions,
} from './options.js';
export { RedisWxSessionStore } from './redis-session-store.js';
