import type { WxStoredSession } from '../session/index.js';
import { WxSessionStore } from '../session/index.js';

/**
 * Options of {@link MemoryWxSessionStore}.
 *
 * @public
 */
export interface MemoryWxSessionStoreOptions {
  /**
   * Most sessions kept at once; past it the least recently used one is evicted, so memory
   * cannot grow without bound. Default 100,000.
   */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass their own. */
  now?: () => number;
}

interface MemoryEntry {
  session: WxStoredSession;
  expiresAt: number;
}

/**
 * The default store: a bounded LRU map in this process. Sessions do not survive a restart and
 * are not shared between instances; use a Redis store for several instances.
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

  /** How many sessions are held, expired ones not yet evicted included. */
  get size(): number {
    return this.entries.size;
  }

  get(token: string): Promise<WxStoredSession | undefined> {
    const entry = this.entries.get(token);
    if (entry === undefined) return Promise.resolve(undefined);
    this.entries.delete(token);
    if (entry.expiresAt <= this.now()) return Promise.resolve(undefined);
    // Re-inserting moves the entry to the end of the Map's order: the most recently used.
    this.entries.set(token, entry);
    return Promise.resolve(entry.session);
  }

  set(token: string, session: WxStoredSession, ttlSeconds: number): Promise<void> {
    // A NaN or infinite expiry would compare false against every clock reading: never expire.
    if (!Number.isFinite(ttlSeconds)) {
      return Promise.reject(new RangeError('MemoryWxSessionStore: ttlSeconds must be a finite number'));
    }
    this.entries.delete(token);
    if (ttlSeconds <= 0) return Promise.resolve();
    this.entries.set(token, { session, expiresAt: this.now() + ttlSeconds * 1000 });
    if (this.entries.size > this.maxEntries) this.evictOldest();
    return Promise.resolve();
  }

  delete(token: string): Promise<void> {
    this.entries.delete(token);
    return Promise.resolve();
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done !== true) this.entries.delete(oldest.value);
  }
}
