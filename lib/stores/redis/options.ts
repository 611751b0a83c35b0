import type KeyvRedis from '@keyv/redis';
import type { RedisClientConnectionType } from '@keyv/redis';
import type { Keyv } from 'keyv';
import type { WxIoRedisClient, WxNodeRedisClient, WxRedisStoreSettings } from './settings.js';

export type { WxIoRedisClient, WxNodeRedisClient, WxRedisStoreSettings } from './settings.js';

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
 * A Redis connection of your own that the store can use: node-redis's or ioredis's.
 *
 * @public
 */
export type WxRedisClient = RedisClientConnectionType | WxNodeRedisClient | WxIoRedisClient;

/**
 * Options of {@link RedisWxSessionStore}. Give exactly one of `url`, `redisOptions`, `keyv` and
 * `client`: the first two make the store open (and on `close()` close) a connection of its own;
 * with the last two it uses yours and leaves it open.
 *
 * @public
 */
export interface RedisWxSessionStoreOptions extends WxRedisStoreSettings {
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
   * Your Redis connection, as it is: a node-redis client, cluster or sentinel (`createClient`,
   * `createCluster`, `createSentinel`), or an ioredis client (`new Redis(...)`, also with
   * `sentinels`) or `new Cluster(...)`. Told apart by what they offer (node-redis's `evalSha`
   * and `isOpen`, ioredis's `evalsha` and `status`), never by class names, so a copy of either
   * library of any version with that API works. Connected if it is not yet; never closed.
   */
  client?: WxRedisClient;
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
  | { readonly kind: 'client'; readonly client: object; readonly library: RedisClientLibrary };

/**
 * The client library of a connection handed to the store, and whether it is a Cluster.
 *
 * @internal
 */
export type RedisClientLibrary = 'node-redis' | 'ioredis';

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
  const client: unknown = options.client;
  if (typeof client !== 'object' || client === null) {
    throw new TypeError(
      'RedisWxSessionStore: client must be a node-redis or ioredis client, cluster or sentinel',
    );
  }
  return { kind: 'client', client, library: redisClientLibrary(client) };
}

/** What each library must offer for the store: the Lua scripts need EVALSHA and EVAL. */
const NEEDED: Record<RedisClientLibrary, readonly string[]> = {
  'node-redis': ['evalSha', 'eval', 'get', 'set', 'del', 'connect', 'on', 'off'],
  ioredis: ['evalsha', 'eval', 'get', 'set', 'del', 'connect', 'on', 'off'],
};

/**
 * Tells a node-redis connection from an ioredis one by what it offers: node-redis has a boolean
 * `isOpen` and camel-case `evalSha`; ioredis a string `status` and lower-case `evalsha`. A
 * connection that is neither, or lacks a command the store needs, is refused with a message that
 * says which and why.
 *
 * @throws TypeError naming what is missing
 * @internal
 */
export function redisClientLibrary(client: object): RedisClientLibrary {
  const offers = (name: string): boolean => typeof (client as Record<string, unknown>)[name] === 'function';
  const shape = client as { isOpen?: unknown; status?: unknown };
  let library: RedisClientLibrary;
  if (typeof shape.isOpen === 'boolean' && !offers('evalsha')) library = 'node-redis';
  else if (typeof shape.status === 'string' && !offers('evalSha')) library = 'ioredis';
  else {
    throw new TypeError(
      'RedisWxSessionStore: client is neither a node-redis connection (a boolean isOpen and evalSha) ' +
        'nor an ioredis one (a string status and evalsha); hand over a createClient/createCluster/' +
        'createSentinel or new Redis/new Cluster connection, or give url or redisOptions instead',
    );
  }
  const missing = NEEDED[library].filter((name) => !offers(name));
  if (missing.length > 0) {
    throw new TypeError(
      `RedisWxSessionStore: the ${library} client lacks ${missing.join(', ')}: the store needs GET, SET, DEL ` +
        'and the Lua scripts (EVALSHA, EVAL) that make its compare-and-set, budgets and locks atomic',
    );
  }
  return library;
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`RedisWxSessionStore: ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
