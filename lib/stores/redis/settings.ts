import type { WxStoreEncryptionOptions } from './secret-seal.js';

// Peer-free on purpose: the module's `redis` option and the cache-manager store are typed from
// this file, so the package root's types never need keyv, @keyv/redis or ioredis. options.ts adds
// the richer types of the `/redis` entry. scripts/check-package.mjs fails if this ever changes.

/**
 * What the Redis store takes of an ioredis client or Cluster (ioredis is not a dependency of this
 * package: the shape is checked when the store is built). Methods are typed loosely on purpose,
 * so that any ioredis version's overloads fit.
 *
 * @public
 */
export interface WxIoRedisClient {
  /** ioredis's connection status: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `end`. */
  readonly status: string;
  /** `true` on an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  readonly evalsha: (...args: never[]) => unknown;
  readonly eval: (...args: never[]) => unknown;
  readonly get: (...args: never[]) => unknown;
  readonly set: (...args: never[]) => unknown;
  readonly del: (...args: never[]) => unknown;
  readonly on: (...args: never[]) => unknown;
}

/**
 * What the Redis store takes of a node-redis client, cluster or sentinel (any module, script or
 * RESP generics: methods are typed loosely on purpose, the shape is checked when the store is built).
 *
 * @public
 */
export interface WxNodeRedisClient {
  /** Whether the connection was opened and not closed since (reconnections included). */
  readonly isOpen: boolean;
  readonly evalSha: (...args: never[]) => unknown;
  readonly eval: (...args: never[]) => unknown;
  readonly get: (...args: never[]) => unknown;
  readonly set: (...args: never[]) => unknown;
  readonly del: (...args: never[]) => unknown;
  readonly connect: (...args: never[]) => unknown;
  readonly on: (...args: never[]) => unknown;
}

/**
 * The settings of a Redis-backed store other than its connection: those of
 * `RedisWxSessionStore` (from `nestjs-wx-open-data/redis`) and {@link CacheManagerWxSessionStore}.
 *
 * @public
 */
export interface WxRedisStoreSettings {
  /**
   * Prefix of every key the store writes, so several apps can share a Redis. Letters, digits and
   * `_ - . :`. Default `wx-open-data`.
   */
  namespace?: string;
  /**
   * How long Redis may stay silent, in milliseconds, while store operations wait on it, before
   * the store counts it as unavailable: waiting requests are refused with a 503 and later ones at
   * once until a probe sees Redis back. The bound on how long a stalled Redis holds a request.
   * Silence, not one operation's age: a healthy Redis under load answers a long queue in order,
   * and time this process spent busy elsewhere is not counted. Default 150.
   */
  commandTimeoutMs?: number;
  /** How long `connect()` waits for a connection, in milliseconds. Default 2000. */
  connectTimeoutMs?: number;
  /**
   * While Redis is unavailable, how often the store checks whether it is back, in milliseconds.
   * Default 250.
   */
  probeIntervalMs?: number;
  /** The `Retry-After` clients are told while Redis is unavailable, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /**
   * Envelope encryption (AES-256-GCM) of every secret the store writes, users' session keys and
   * the access token, with keys the app holds: Redis, its logs and `MONITOR` see ciphertext only.
   * Checked when the store is built. Default: none (secrets in clear, as JSON).
   */
  encryption?: WxStoreEncryptionOptions;
}

/**
 * The module's `redis` option: the options of `RedisWxSessionStore` (exported with their full
 * types by `nestjs-wx-open-data/redis`), typed here without the optional peers, so that an app
 * that does not use Redis type-checks without keyv and @keyv/redis installed. Every
 * `RedisWxSessionStoreOptions` is one. Give exactly one of `url`, `redisOptions`, `keyv` and
 * `client`; their shapes are checked at boot.
 *
 * @public
 */
export interface WxRedisOptions extends WxRedisStoreSettings {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`: the store opens its own connection. */
  url?: string;
  /**
   * node-redis options for a connection the store opens itself, as @keyv/redis takes them:
   * `{ rootNodes }` for a Redis Cluster, `{ sentinelRootNodes, name }` for Sentinel, otherwise
   * options of a single server (typed in full as `WxRedisConnectOptions` in `/redis`).
   */
  redisOptions?: object;
  /** Your Keyv instance on a `@keyv/redis` store, or the `KeyvRedis` store itself. Not closed. */
  keyv?: object;
  /**
   * Your Redis connection: a node-redis client, cluster or sentinel, or an ioredis client or
   * Cluster. Connected if it is not yet; never closed.
   */
  client?: WxNodeRedisClient | WxIoRedisClient;
}
