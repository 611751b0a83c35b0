import { randomBytes } from 'node:crypto';
import type { WxAccessTokenLock, WxSharedAccessToken } from '../../api/access-token-store.js';
import { checkBudgetId, checkKeyAttempt } from '../../session/key-budget.js';
import { ttlMilliseconds } from '../../session/ttl.js';
import {
  WxSessionStore,
  type WxKeyAttempt,
  type WxSessionRecord,
  type WxSessionWithKeys,
  type WxUserKeys,
} from '../../session/index.js';
import { WxOpenDataConfigError } from '../../core/errors.js';
import { RedisWxSessionStore } from '../redis/redis-session-store.js';
import type { WxRedisStoreSettings } from '../redis/settings.js';

/** What its option errors name. */
const SUBJECT = 'CacheManagerWxSessionStore';

/**
 * What the store takes of a cache-manager `Cache` (v6 or later, as `@nestjs/cache-manager`
 * provides it under `CACHE_MANAGER`): its Keyv stores, and get/set/del for the in-memory case.
 * cache-manager is not a dependency of this package; the shape is checked when the store is built.
 *
 * @public
 */
export interface WxCacheManagerCache {
  /** The Keyv instances under the cache, first tier first. */
  readonly stores: readonly object[];
  get<T>(key: string): Promise<T | undefined | null>;
  /** `ttl` in milliseconds. */
  set<T>(key: string, value: T, ttl?: number): Promise<T>;
  del(key: string): Promise<boolean>;
}

/**
 * Options of {@link CacheManagerWxSessionStore}: the Redis store's, less the connection (the
 * cache's is used).
 *
 * @public
 */
export type CacheManagerWxSessionStoreOptions = WxRedisStoreSettings;

/**
 * Sessions and the fleet's shared state in the app's own cache (`@nestjs/cache-manager`), so Redis
 * is configured once. What the cache holds decides how:
 *
 * - a Keyv on `@keyv/redis` (the documented `KeyvRedis` store), in any tier: the store reaches
 *   that Keyv's Redis client and runs exactly as {@link RedisWxSessionStore} does on it (the same
 *   Lua scripts, so key compare-and-set, replay claims, key-attempt budgets and the token lock
 *   are atomic across every instance sharing the cache, and the same 503 on an outage);
 * - only in-process Keyv stores (a `Map`, Keyv's default, or a class extending it): the entries
 *   live in the cache, and each operation that must be atomic runs alone per key in this
 *   process. Correct under concurrency for **one instance only**: two instances with memory
 *   caches share nothing.
 *
 * Any other cache (a Keyv store on another database, which offers no atomic operation the store
 * can reach) is refused when the store is built, with a message that says why.
 *
 * ```ts
 * WxOpenDataModule.forRootAsync({
 *   imports: [CacheModule.register({ stores: [new KeyvRedis('redis://127.0.0.1:6379')] })],
 *   inject: [CACHE_MANAGER],
 *   useFactory: (cache: Cache) => ({ appId, appSecret, sessionStore: new CacheManagerWxSessionStore(cache) }),
 * })
 * ```
 *
 * @public
 */
export class CacheManagerWxSessionStore extends WxSessionStore {
  private readonly backend: WxSessionStore;
  /** `redis` when the cache has a KeyvRedis tier, `memory` when it is in-process only. */
  readonly mode: 'redis' | 'memory';

  /**
   * @throws `WxOpenDataConfigError` when `cache` is not a cache-manager Cache, or offers neither a
   *   Redis store nor an in-process one, or the Redis store's options are wrong
   */
  constructor(cache: WxCacheManagerCache, options: CacheManagerWxSessionStoreOptions = {}) {
    super();
    if (typeof cache !== 'object' || cache === null || !Array.isArray(cache.stores)) {
      throw new WxOpenDataConfigError(
        [
          'cache must be a cache-manager Cache (v6 or later, with stores), ' +
            'as @nestjs/cache-manager provides it under CACHE_MANAGER',
        ],
        SUBJECT,
      );
    }
    const redis = cache.stores.find((store) => isKeyvRedis(keyvStoreOf(store)));
    if (redis !== undefined) {
      this.mode = 'redis';
      this.backend = new RedisWxSessionStore({ ...options, keyv: redis as never });
      return;
    }
    if (cache.stores.length > 0 && cache.stores.every((store) => keyvStoreOf(store) instanceof Map)) {
      this.mode = 'memory';
      this.backend = new CacheMemoryBackend(cache, options.namespace ?? 'wx-open-data');
      return;
    }
    throw new WxOpenDataConfigError(
      [
        'the cache offers neither a @keyv/redis store (whose Redis runs the ' +
          "store's atomic scripts) nor only in-process Keyv stores (a Map): its store offers no atomic " +
          'compare-and-set the session store could use. Put a KeyvRedis store in the cache, or give ' +
          'the module a RedisWxSessionStore or MemoryWxSessionStore instead',
      ],
      SUBJECT,
    );
  }

  override connect(): Promise<void> {
    return this.backend.connect();
  }

  override close(): Promise<void> {
    return this.backend.close();
  }

  override clockMicros(userId: string): Promise<number> {
    return this.backend.clockMicros(userId);
  }

  get(token: string): Promise<WxSessionRecord | undefined> {
    return this.backend.get(token);
  }

  set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void> {
    return this.backend.set(token, session, ttlSeconds);
  }

  delete(token: string): Promise<void> {
    return this.backend.delete(token);
  }

  getUserKeys(userId: string): Promise<WxUserKeys | undefined> {
    return this.backend.getUserKeys(userId);
  }

  setUserKeys(
    userId: string,
    keys: WxUserKeys,
    expectedVersion: number | null,
    ttlSeconds: number,
  ): Promise<boolean> {
    return this.backend.setUserKeys(userId, keys, expectedVersion, ttlSeconds);
  }

  override getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    return this.backend.getSessionWithKeys(token);
  }

  claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean> {
    return this.backend.claimPayload(fingerprint, ttlSeconds);
  }

  takeKeyAttempt(budgetId: string, maxAttempts: number, ttlSeconds: number): Promise<WxKeyAttempt> {
    return this.backend.takeKeyAttempt(budgetId, maxAttempts, ttlSeconds);
  }

  settleKeyAttempt(budgetId: string, succeeded: boolean): Promise<void> {
    return this.backend.settleKeyAttempt(budgetId, succeeded);
  }

  readAccessToken(appId: string): Promise<WxSharedAccessToken | undefined> {
    return this.backend.readAccessToken(appId);
  }

  writeAccessToken(appId: string, token: WxSharedAccessToken): Promise<void> {
    return this.backend.writeAccessToken(appId, token);
  }

  lockAccessTokenRefresh(appId: string, ttlSeconds: number): Promise<WxAccessTokenLock | undefined> {
    return this.backend.lockAccessTokenRefresh(appId, ttlSeconds);
  }
}

/** The store under a Keyv instance (`keyv.store`), or `undefined`. */
function keyvStoreOf(keyv: object): unknown {
  return 'store' in keyv ? (keyv as { store: unknown }).store : undefined;
}

/** A `@keyv/redis` store: a Redis client and `isCluster()` (the shape the Redis store reads). */
function isKeyvRedis(store: unknown): boolean {
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof (store as { isCluster?: unknown }).isCluster === 'function' &&
    typeof (store as { client?: unknown }).client === 'object'
  );
}

interface Budget {
  inFlight: number;
  failed: number;
  expiresAt: number;
}

/**
 * The in-process case: entries in the cache as JSON (so every read is a copy), each atomic
 * operation serialised per key by {@link KeyedQueue}. One instance only.
 */
class CacheMemoryBackend extends WxSessionStore {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly cache: WxCacheManagerCache,
    private readonly namespace: string,
  ) {
    super();
  }

  private key(kind: string, id: string): string {
    return `${this.namespace}:${kind}:${id}`;
  }

  private async read<T>(key: string): Promise<T | undefined> {
    const json = await this.cache.get<string>(key);
    return typeof json === 'string' ? (JSON.parse(json) as T) : undefined;
  }

  private async write(key: string, value: unknown, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) await this.cache.del(key);
    else await this.cache.set(key, JSON.stringify(value), ttlMs);
  }

  get(token: string): Promise<WxSessionRecord | undefined> {
    return this.read<WxSessionRecord>(this.key('session', token));
  }

  async set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void> {
    await this.write(this.key('session', token), session, toTtlMs(ttlSeconds));
  }

  async delete(token: string): Promise<void> {
    await this.cache.del(this.key('session', token));
  }

  getUserKeys(userId: string): Promise<WxUserKeys | undefined> {
    return this.read<WxUserKeys>(this.key('user', userId));
  }

  async setUserKeys(
    userId: string,
    keys: WxUserKeys,
    expectedVersion: number | null,
    ttlSeconds: number,
  ): Promise<boolean> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.key('user', userId);
    return this.queue.run(key, async () => {
      const current = await this.read<WxUserKeys>(key);
      if ((current?.version ?? null) !== expectedVersion) return false;
      await this.write(key, keys, ttl);
      return true;
    });
  }

  async claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.key('replay', fingerprint);
    return this.queue.run(key, async () => {
      const mark = await this.cache.get(key);
      if (mark !== undefined && mark !== null) return false;
      if (ttl > 0) await this.write(key, 1, ttl);
      return true;
    });
  }

  takeKeyAttempt(budgetId: string, maxAttempts: number, ttlSeconds: number): Promise<WxKeyAttempt> {
    try {
      checkKeyAttempt('CacheManagerWxSessionStore', budgetId, maxAttempts, ttlSeconds);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const key = this.key('key-budget', budgetId);
    return this.queue.run(key, async () => {
      const now = Date.now();
      const budget = (await this.read<Budget>(key)) ?? {
        inFlight: 0,
        failed: 0,
        expiresAt: now + toTtlMs(ttlSeconds),
      };
      if (budget.inFlight + budget.failed >= maxAttempts) {
        return budget.failed >= maxAttempts ? 'spent' : 'busy';
      }
      budget.inFlight += 1;
      // The budget's life runs from its first take; later takes keep its expiry.
      await this.write(key, budget, budget.expiresAt - now);
      return 'granted';
    });
  }

  settleKeyAttempt(budgetId: string, succeeded: boolean): Promise<void> {
    try {
      checkBudgetId('CacheManagerWxSessionStore', budgetId);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const key = this.key('key-budget', budgetId);
    return this.queue.run(key, async () => {
      const budget = await this.read<Budget>(key);
      // Expired meanwhile: left gone.
      if (budget === undefined) return;
      budget.inFlight = Math.max(0, budget.inFlight - 1);
      if (!succeeded) budget.failed += 1;
      await this.write(key, budget, budget.expiresAt - Date.now());
    });
  }

  readAccessToken(appId: string): Promise<WxSharedAccessToken | undefined> {
    return this.read<WxSharedAccessToken>(this.key('access-token', appId));
  }

  async writeAccessToken(appId: string, token: WxSharedAccessToken): Promise<void> {
    if (!Number.isFinite(token.expiresAt) || !Number.isFinite(token.refreshAt)) {
      throw new RangeError('CacheManagerWxSessionStore: access token times must be finite');
    }
    await this.write(this.key('access-token', appId), token, Math.round(token.expiresAt - Date.now()));
  }

  async lockAccessTokenRefresh(appId: string, ttlSeconds: number): Promise<WxAccessTokenLock | undefined> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.key('access-token-lock', appId);
    return this.queue.run(key, async () => {
      if (ttl === 0 || (await this.read<string>(key)) !== undefined) return undefined;
      const owner = randomBytes(16).toString('base64url');
      await this.write(key, owner, ttl);
      return {
        release: () =>
          this.queue.run(key, async () => {
            if ((await this.read<string>(key)) === owner) await this.cache.del(key);
          }),
      };
    });
  }
}

/**
 * Runs asynchronous work one at a time per key, in call order: the in-process equivalent of a
 * Redis script, for read-modify-write on a cache that has no atomic operation of its own.
 */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      // The last in line cleans up, so the map holds only keys with work pending.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** A TTL in seconds as milliseconds; 0 for "remove"; a RangeError for NaN or infinity. */
const toTtlMs = (ttlSeconds: number): number => ttlMilliseconds('CacheManagerWxSessionStore', ttlSeconds);
