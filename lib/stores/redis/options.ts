import type KeyvRedis from '@keyv/redis';
import type { RedisClientConnectionType } from '@keyv/redis';
import type { Keyv } from 'keyv';
import { WxOpenDataConfigError } from '../../core/errors.js';
import { SecretSeal } from './secret-seal.js';
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
  /** Seals secrets before they go to Redis; `undefined` without the `encryption` option. */
  readonly seal: SecretSeal | undefined;
}

const NAMESPACE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What configured the store, as its option errors name it. */
const SUBJECT = 'RedisWxSessionStore options';

/**
 * Checks the options, reporting every problem at once. Messages name the option, never its
 * value: a URL may carry a password.
 *
 * @throws {@link WxOpenDataConfigError} listing every problem
 * @internal
 */
export function resolveRedisStoreOptions(options: RedisWxSessionStoreOptions): ResolvedRedisStoreOptions {
  const problems: string[] = [];
  const resolved = checkRedisStoreOptions(options, problems);
  if (resolved === undefined || problems.length > 0) throw new WxOpenDataConfigError(problems, SUBJECT);
  return resolved;
}

/**
 * The checks of {@link resolveRedisStoreOptions}, each problem added to `problems`; the resolved
 * options when there is none. The module runs it with its own options' checks.
 *
 * @internal
 */
export function checkRedisStoreOptions(
  options: RedisWxSessionStoreOptions,
  problems: string[],
): ResolvedRedisStoreOptions | undefined {
  if (typeof options !== 'object' || options === null) {
    problems.push('options must be an object ({ url } and the like)');
    return undefined;
  }
  const given = (['url', 'redisOptions', 'keyv', 'client'] as const).filter(
    (name) => options[name] !== undefined,
  );
  const source = given.length === 1 ? resolveSource(options, problems) : undefined;
  if (given.length !== 1) problems.push('give exactly one of url, redisOptions, keyv, client');
  const namespace = options.namespace ?? 'wx-open-data';
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) {
    problems.push('namespace must be 1-64 letters, digits or _ - . :');
  }
  const integer = (name: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}`);
    }
    return value as number;
  };
  const commandTimeoutMs = integer('commandTimeoutMs', options.commandTimeoutMs ?? 150, 1, 60_000);
  const connectTimeoutMs = integer('connectTimeoutMs', options.connectTimeoutMs ?? 2000, 1, 300_000);
  const probeIntervalMs = integer('probeIntervalMs', options.probeIntervalMs ?? 250, 10, 60_000);
  const retryAfterSeconds = integer('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1, 3600);
  let seal: SecretSeal | undefined;
  if (options.encryption !== undefined) {
    // Built with the other checks, before any connection: a bad key leaves nothing open.
    try {
      seal = new SecretSeal(options.encryption);
    } catch (error) {
      problems.push((error as Error).message.replace(/^RedisWxSessionStore: /, ''));
    }
  }
  if (source === undefined) return undefined;
  return { source, namespace, commandTimeoutMs, connectTimeoutMs, probeIntervalMs, retryAfterSeconds, seal };
}

function resolveSource(
  options: RedisWxSessionStoreOptions,
  problems: string[],
): RedisConnectionSource | undefined {
  if (options.url !== undefined) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      problems.push('url must be a redis:// or rediss:// URL');
      return undefined;
    }
    return { kind: 'url', url: options.url };
  }
  if (options.redisOptions !== undefined) {
    if (typeof options.redisOptions !== 'object' || options.redisOptions === null) {
      problems.push('redisOptions must be an object');
      return undefined;
    }
    return { kind: 'options', options: options.redisOptions };
  }
  if (options.keyv !== undefined) {
    if (typeof options.keyv !== 'object' || options.keyv === null) {
      problems.push('keyv must be a Keyv instance or a KeyvRedis store');
      return undefined;
    }
    return { kind: 'keyv', keyv: options.keyv };
  }
  const client: unknown = options.client;
  if (typeof client !== 'object' || client === null) {
    problems.push('client must be a node-redis or ioredis client, cluster or sentinel');
    return undefined;
  }
  const library = clientLibraryOf(client, problems);
  return library === undefined ? undefined : { kind: 'client', client, library };
}

/** What each library must offer for the store: the Lua scripts need EVALSHA and EVAL. */
const NEEDED: Record<RedisClientLibrary, readonly string[]> = {
  'node-redis': ['evalSha', 'eval', 'get', 'set', 'del', 'connect', 'on', 'off'],
  ioredis: ['evalsha', 'eval', 'get', 'set', 'del', 'connect', 'on', 'off'],
};

/**
 * Tells a node-redis connection from an ioredis one by what it offers: node-redis has a boolean
 * `isOpen` and camel-case `evalSha`; ioredis a string `status` and lower-case `evalsha`. A
 * connection that is neither, or lacks a command the store needs, is a problem that says which
 * and why.
 */
function clientLibraryOf(client: object, problems: string[]): RedisClientLibrary | undefined {
  const offers = (name: string): boolean => typeof (client as Record<string, unknown>)[name] === 'function';
  const shape = client as { isOpen?: unknown; status?: unknown };
  let library: RedisClientLibrary;
  if (typeof shape.isOpen === 'boolean' && !offers('evalsha')) library = 'node-redis';
  else if (typeof shape.status === 'string' && !offers('evalSha')) library = 'ioredis';
  else {
    problems.push(
      'client is neither a node-redis connection (a boolean isOpen and evalSha) ' +
        'nor an ioredis one (a string status and evalsha); hand over a createClient/createCluster/' +
        'createSentinel or new Redis/new Cluster connection, or give url or redisOptions instead',
    );
    return undefined;
  }
  const missing = NEEDED[library].filter((name) => !offers(name));
  if (missing.length > 0) {
    problems.push(
      `the ${library} client lacks ${missing.join(', ')}: the store needs GET, SET, DEL ` +
        'and the Lua scripts (EVALSHA, EVAL) that make its compare-and-set, budgets and locks atomic',
    );
    return undefined;
  }
  return library;
}
