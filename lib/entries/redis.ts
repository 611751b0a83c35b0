/**
 * `nestjs-wx-open-data/redis`: the Redis session store, on the optional peers keyv and
 * @keyv/redis (`npm install keyv @keyv/redis`). The module's `redis` option builds one for you.
 *
 * @packageDocumentation
 */
export { RedisWxSessionStore } from '../stores/redis/redis-session-store.js';
export type {
  RedisWxSessionStoreOptions,
  WxRedisConnectOptions,
  WxRedisStoreSettings,
} from '../stores/redis/options.js';
