export type {
  RedisWxSessionStoreOptions,
  WxIoRedisClient,
  WxRedisClient,
  WxRedisConnectOptions,
} from './options.js';
export { RedisWxSessionStore } from './redis-session-store.js';
