import type KeyvRedis from '@keyv/redis';
import type { RedisClientConnectionType } from '@keyv/redis';
import type { Keyv } from 'keyv';
import type { WxStoreEncryptionOptions } from './secret-seal.js';

/**
 * node-redis connection options as @keyv/redis takes them: a single server's, a Cluster's
 * (`rootNodes`) or Sentinel's (`sentinelRootNodes`).
 *
 * @public
 */
export type WxRedisConnectOptions = Exclude<
  NonNullable<ConstructorParameters<typeof KeyvRedis>[0]>,
  string | RedisClientConnectionType
>;

/**
 * Options of {@link RedisWxSessionStore}. Give exactly one of `url`, `redisOptions`, `keyv` and
 * `client`: the first two make the store open (and on `close()` close) a connection of its own;
 * with the last two it uses yours and leaves it open.
 *
 * @public
 */
export interface RedisWxSessionStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`: the store opens its own connection. */
  url?: string;
  /**
   * node-redis options for a connection the store opens itself, as @keyv/redis takes them:
   * `{ rootNodes }` for a Redis Cluster, `{ sentinelRootNodes, name }` for Sentinel, otherwise
   * options of a single server.
   */
  redisOptions?: WxRedisConnectOptions;
  /**
   * Your Keyv instance on a `@keyv/redis` store, or the `KeyvRedis` store itself: the store sends
   * its commands through its Redis client (Keyv's get/set cannot compare-and-set). Not closed.
   */
  keyv?: Keyv | KeyvRedis<unknown>;
  /**
   * Your node-redis connection: a client, cluster or sentinel (`createClient`, `createCluster`,
   * `createSentinel`, re-exported by @keyv/redis). Connected if it is not yet; never closed.
   */
  client?: RedisClientConnectionType;
  /**
   * Prefix of every key the store writes, so several apps can share a Redis. Letters, digits and
   * `_ - . :`. Default `wx-open-data`.
   */
  namespace?: string;
  /**
   * How long one store operation may take before the request is refused with a 503, in
   * milliseconds: the bound on how long a stalled Redis can hold a request. Default 150.
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
 * Where the connection comes from.
 *
 * @internal
 */
export type RedisConnectionSource =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'options';
      readonly options: WxRedisConnectOptions;
    }
  | { readonly kind: 'keyv'; readonly keyv: Keyv | KeyvRedis<unknown> }
  | { readonly kind: 'client'; readonly client: RedisClientConnectionType };

/**
 * {@link RedisWxSessionStoreOptions} checked, with defaults.
 *
 * @internal
 */
export interface ResolvedRedisStoreOptions {
  readonly source: RedisConnectionSource;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly probeIntervalMs: number;
  readonly retryAfterSeconds: number;
}

const NAMESPACE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Checks the options. Messages name the option, never its value: a URL may carry a password.
 *
 * @throws TypeError or RangeError naming the bad option
 * @internal
 */
export function resolveRedisStoreOptions(options: RedisWxSessionStoreOptions): ResolvedRedisStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('RedisWxSessionStore: options must be an object');
  }
  const given = (['url', 'redisOptions', 'keyv', 'client'] as const).filter(
    (name) => options[name] !== undefined,
  );
  if (given.length !== 1) {
    throw new TypeError('RedisWxSessionStore: give exactly one of url, redisOptions, keyv, client');
  }
  const namespace = options.namespace ?? 'wx-open-data';
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) {
    throw new TypeError('RedisWxSessionStore: namespace must be 1-64 letters, digits or _ - . :');
  }
  return {
    source: resolveSource(options),
    namespace,
    commandTimeoutMs: integerIn('commandTimeoutMs', options.commandTimeoutMs ?? 150, 1, 60_000),
    connectTimeoutMs: integerIn('connectTimeoutMs', options.connectTimeoutMs ?? 2000, 1, 300_000),
    probeIntervalMs: integerIn('probeIntervalMs', options.probeIntervalMs ?? 250, 10, 60_000),
    retryAfterSeconds: integerIn('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1, 3600),
  };
}

function resolveSource(options: RedisWxSessionStoreOptions): RedisConnectionSource {
  if (options.url !== undefined) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new TypeError('RedisWxSessionStore: url must be a redis:// or rediss:// URL');
    }
    return { kind: 'url', url: options.url };
  }
  if (options.redisOptions !== undefined) {
    if (typeof options.redisOptions !== 'object' || options.redisOptions === null) {
      throw new TypeError('RedisWxSessionStore: redisOptions must be an object');
    }
    return { kind: 'options', options: options.redisOptions };
  }
  if (options.keyv !== undefined) {
    if (typeof options.keyv !== 'object' || options.keyv === null) {
      throw new TypeError('RedisWxSessionStore: keyv must be a Keyv instance or a KeyvRedis store');
    }
    return { kind: 'keyv', keyv: options.keyv };
  }
  const client = options.client;
  if (typeof client !== 'object' || client === null || typeof client.connect !== 'function') {
    throw new TypeError('RedisWxSessionStore: client must be a node-redis client, cluster or sentinel');
  }
  return { kind: 'client', client };
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`RedisWxSessionStore: ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
