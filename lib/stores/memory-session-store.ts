import type { WxSessionRecord, WxUserKeys } from '../session/index.js';
import { WxSessionStore } from '../session/index.js';

/**
 * Options of {@link MemoryWxSessionStore}.
 *
 * @public
 */
export interface MemoryWxSessionStoreOptions {
  /**
   * Most entries (sessions and users' keys together) kept at once; past it the least recently
   * used one is evicted, so memory cannot grow without bound. Default 100,000.
   */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass their own. */
  now?: () => number;
}

interface MemoryEntry {
  value: WxSessionRecord | WxUserKeys;
  expiresAt: number;
}

// Prefixes keep tokens and user ids apart in the one LRU map.
const SESSION = 's:';
const USER = 'u:';

/**
 * The default store: a bounded LRU map in this process. Entries do not survive a restart and are
 * not shared between instances; use a Redis store for several instances.
 *
 * @public
 */
export class MemoryWxSessionStore extends WxSessionStore {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryWxSessionStoreOptions = {}) {
    super();
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('MemoryWxSessionStore: maxEntries must be a positive integer');
    }
    this.maxEntries = maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** How many entries are held, expired ones not yet evicted included. */
  get size(): number {
    return this.entries.size;
  }

  get(token: string): Promise<WxSessionRecord | undefined> {
    return Promise.resolve(this.read(SESSION + token) as WxSessionRecord | undefined);
  }

  set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void> {
    return this.write(SESSION + token, session, ttlSeconds);
  }

  delete(token: string): Promise<void> {
    this.entries.delete(SESSION + token);
    return Promise.resolve();
  }

  getUserKeys(userId: string): Promise<WxUserKeys | undefined> {
    return Promise.resolve(this.read(USER + userId) as WxUserKeys | undefined);
  }

  setUserKeys(
    userId: string,
    keys: WxUserKeys,
    expectedVersion: number | null,
    ttlSeconds: number,
  ): Promise<boolean> {
    const current = this.read(USER + userId) as WxUserKeys | undefined;
    if ((current?.version ?? null) !== expectedVersion) return Promise.resolve(false);
    return this.write(USER + userId, keys, ttlSeconds).then(() => true);
  }

  private read(key: string): WxSessionRecord | WxUserKeys | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    // Re-inserting moves the entry to the end of the Map's order: the most recently used.
    this.entries.set(key, entry);
    return entry.value;
  }

  private write(key: string, value: WxSessionRecord | WxUserKeys, ttlSeconds: number): Promise<void> {
    // A NaN or infinite expiry would compare false against every clock reading: never expire.
    if (!Number.isFinite(ttlSeconds)) {
      return Promise.reject(new RangeError('MemoryWxSessionStore: ttlSeconds must be a finite number'));
    }
    this.entries.delete(key);
    if (ttlSeconds <= 0) return Promise.resolve();
    // A frozen copy: a caller mutating its object afterwards cannot change what is stored.
    this.entries.set(key, { value: Object.freeze({ ...value }), expiresAt: this.now() + ttlSeconds * 1000 });
    if (this.entries.size > this.maxEntries) this.evictOldest();
    return Promise.resolve();
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done !== true) this.entries.delete(oldest.value);
  }
}
