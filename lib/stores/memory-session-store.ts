import { randomBytes } from 'node:crypto';
import type { WxAccessTokenLock, WxSharedAccessToken } from '../api/access-token-store.js';
import type { WxKeyAttempt, WxSessionRecord, WxSessionWithKeys, WxUserKeys } from '../session/index.js';
import type { WxLoginCodeClaim, WxRememberedLogin } from '../session/index.js';
import { WxSessionStore, wxUserId } from '../session/index.js';
import { checkBudgetId, checkKeyAttempt, userKeyBudgetId } from '../session/key-budget.js';

/**
 * Options of {@link MemoryWxSessionStore}.
 *
 * @public
 */
export interface MemoryWxSessionStoreOptions {
  /**
   * Most entries (sessions and users' keys together) kept at once; past it the least recently
   * used one is evicted, so memory cannot grow without bound. Default 100,000.
   *
   * Key-attempt budgets are apart from it, so that no churn of sessions can evict a budget while
   * the key it protects is still here: at most three budgets per entry are kept, and past that
   * bound only budgets that expired or whose key left the store are dropped.
   */
  maxEntries?: number;
  /**
   * Most replay-cache marks kept at once, apart from `maxEntries` so that a burst of open data
   * cannot evict sessions. Past it the oldest mark (the one closest to leaving its freshness
   * window) is dropped early. Default 100,000.
   */
  maxReplayMarks?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass their own. */
  now?: () => number;
}

type MemoryValue = WxSessionRecord | WxUserKeys;

/** One user key's budget of evaluations, see {@link WxSessionStore.takeKeyAttempt}. */
interface KeyBudget {
  inFlight: number;
  failed: number;
  readonly expiresAt: number;
}

interface MemoryEntry {
  value: MemoryValue;
  expiresAt: number;
}

interface ReplayMark {
  readonly fingerprint: string;
  readonly expiresAt: number;
}

interface HeldLock {
  readonly owner: string;
  readonly expiresAt: number;
}

// Prefixes keep tokens and user ids apart in the one LRU map.
const SESSION = 's:';
const USER = 'u:';
const STORE = 'MemoryWxSessionStore';

/**
 * The default store: a bounded LRU map in this process. Entries do not survive a restart and are
 * not shared between instances; use {@link RedisWxSessionStore} for several instances.
 *
 * Everything the contract asks to be atomic is, trivially: each operation runs to completion
 * without yielding to the event loop.
 *
 * @public
 */
export class MemoryWxSessionStore extends WxSessionStore {
  private readonly entries = new Map<string, MemoryEntry>();
  /** Fingerprint → expiry of its mark. */
  private readonly replayMarks = new Map<string, number>();
  /**
   * The marks in the order they were made, for expiry and eviction from the oldest. A queue of
   * its own, not the Map's order: V8 leaves a hole per deleted Map entry until it rehashes, and
   * walking from the front of a Map used as a queue skips them all, on every call.
   */
  private readonly replayQueue: ReplayMark[] = [];
  private replayHead = 0;
  /** Budget id → budget: not in the LRU of `entries`, see `maxEntries`. */
  private readonly budgets = new Map<string, KeyBudget>();
  private readonly maxKeyBudgets: number;
  private readonly accessTokens = new Map<string, WxSharedAccessToken>();
  private readonly locks = new Map<string, HeldLock>();
  private readonly maxEntries: number;
  private readonly maxReplayMarks: number;
  private readonly now: () => number;

  constructor(options: MemoryWxSessionStoreOptions = {}) {
    super();
    this.maxEntries = positiveInteger('maxEntries', options.maxEntries ?? 100_000);
    this.maxReplayMarks = positiveInteger('maxReplayMarks', options.maxReplayMarks ?? 100_000);
    this.maxKeyBudgets = 3 * this.maxEntries;
    this.now = options.now ?? Date.now;
  }

  /**
   * How many entries are held, expired ones not yet evicted included (replay marks and key
   * budgets apart).
   */
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

  /** Both reads in one step: every guarded request makes this call. */
  override getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    const session = this.read(SESSION + token) as WxSessionRecord | undefined;
    if (session === undefined) return Promise.resolve(undefined);
    const keys = this.read(USER + wxUserId(session.appId, session.openid)) as WxUserKeys | undefined;
    return Promise.resolve({ session, keys });
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
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError());
    const current = this.read(USER + userId) as WxUserKeys | undefined;
    if ((current?.version ?? null) !== expectedVersion) return Promise.resolve(false);
    return this.write(USER + userId, keys, ttlSeconds).then(() => true);
  }

  /** The store's clock (the `now` option), in microseconds. */
  override clockMicros(userId: string): Promise<number> {
    void userId;
    return Promise.resolve(this.now() * 1000);
  }

  claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean> {
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError());
    const now = this.now();
    this.dropExpiredReplayMarks(now);
    const expiresAt = this.replayMarks.get(fingerprint);
    if (expiresAt !== undefined && expiresAt > now) return Promise.resolve(false);
    if (ttlSeconds <= 0) return Promise.resolve(true);
    const mark = { fingerprint, expiresAt: now + ttlSeconds * 1000 };
    this.replayMarks.set(fingerprint, mark.expiresAt);
    this.replayQueue.push(mark);
    // Past the bound, the oldest marks go first: they are the closest to leaving their window.
    while (this.replayMarks.size > this.maxReplayMarks && this.replayHead < this.replayQueue.length) {
      this.dropReplayMark(this.replayQueue[this.replayHead++] as ReplayMark);
    }
    this.compactReplayQueue();
    return Promise.resolve(true);
  }

  takeKeyAttempt(budgetId: string, maxAttempts: number, ttlSeconds: number): Promise<WxKeyAttempt> {
    try {
      checkKeyAttempt(STORE, budgetId, maxAttempts, ttlSeconds);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const now = this.now();
    let budget = this.liveBudget(budgetId, now);
    if (budget === undefined) {
      budget = { inFlight: 0, failed: 0, expiresAt: now + ttlSeconds * 1000 };
      this.budgets.set(budgetId, budget);
      if (this.budgets.size > this.maxKeyBudgets) this.sweepBudgets(budgetId, now);
    }
    if (budget.failed >= maxAttempts) return Promise.resolve('spent');
    if (budget.inFlight + budget.failed >= maxAttempts) return Promise.resolve('busy');
    budget.inFlight += 1;
    return Promise.resolve('granted');
  }

  settleKeyAttempt(budgetId: string, succeeded: boolean): Promise<void> {
    try {
      checkBudgetId(STORE, budgetId);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const budget = this.liveBudget(budgetId, this.now());
    if (budget !== undefined) {
      if (budget.inFlight > 0) budget.inFlight -= 1;
      if (!succeeded) budget.failed += 1;
    }
    return Promise.resolve();
  }

  readAccessToken(appId: string): Promise<WxSharedAccessToken | undefined> {
    const token = this.accessTokens.get(appId);
    if (token !== undefined && token.expiresAt <= this.now()) {
      this.accessTokens.delete(appId);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(token);
  }

  writeAccessToken(appId: string, token: WxSharedAccessToken): Promise<void> {
    if (!Number.isFinite(token.expiresAt) || !Number.isFinite(token.refreshAt)) {
      return Promise.reject(new RangeError('MemoryWxSessionStore: access token times must be finite'));
    }
    this.accessTokens.set(appId, Object.freeze({ ...token }));
    return Promise.resolve();
  }

  lockAccessTokenRefresh(appId: string, ttlSeconds: number): Promise<WxAccessTokenLock | undefined> {
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError());
    const now = this.now();
    const held = this.locks.get(appId);
    if ((held !== undefined && held.expiresAt > now) || ttlSeconds <= 0) return Promise.resolve(undefined);
    const owner = randomBytes(16).toString('base64url');
    this.locks.set(appId, { owner, expiresAt: now + ttlSeconds * 1000 });
    return Promise.resolve({
      release: () => {
        if (this.locks.get(appId)?.owner === owner) this.locks.delete(appId);
        return Promise.resolve();
      },
    });
  }

  private read(key: string): MemoryValue | undefined {
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
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError());
    // A frozen copy: a caller mutating its object afterwards cannot change what is stored.
    this.writeEntry(key, Object.freeze(copyOf(value)), ttlSeconds);
    return Promise.resolve();
  }

  private writeEntry(key: string, value: MemoryValue, ttlSeconds: number): void {
    this.entries.delete(key);
    if (ttlSeconds <= 0) return;
    this.entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
    if (this.entries.size > this.maxEntries) this.evictOldest();
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done !== true) this.entries.delete(oldest.value);
  }

  /** The budget `budgetId` unless it expired (then it is dropped). */
  private liveBudget(budgetId: string, now: number): KeyBudget | undefined {
    const budget = this.budgets.get(budgetId);
    if (budget === undefined || budget.expiresAt > now) return budget;
    this.budgets.delete(budgetId);
    return undefined;
  }

  /**
   * Past the bound of budgets: drops every budget that expired or whose key is no longer here
   * (current keys, and previous keys within their grace period), keeping `keep`, the one being
   * taken. The keys here are at most two per entry, so at most `2 * maxEntries` budgets protect
   * one and a sweep frees a third of the bound or more: one SHA-256 per key, amortised to a few
   * per new budget, and only in a store that holds more budgets than entries.
   */
  private sweepBudgets(keep: string, now: number): void {
    const guarded = new Set<string>([keep]);
    for (const [key, entry] of this.entries) {
      if (!key.startsWith(USER) || entry.expiresAt <= now) continue;
      const userId = key.slice(USER.length);
      const keys = entry.value as WxUserKeys;
      guarded.add(userKeyBudgetId(userId, keys.sessionKey));
      if (keys.previousSessionKey !== undefined && (keys.previousKeyExpiresAt ?? 0) > now) {
        guarded.add(userKeyBudgetId(userId, keys.previousSessionKey));
      }
    }
    for (const [budgetId, budget] of this.budgets) {
      if (budget.expiresAt <= now || !guarded.has(budgetId)) this.budgets.delete(budgetId);
    }
  }

  /**
   * Drops expired marks from the front of the queue, stopping at the first live one: amortised
   * O(1). With TTLs that differ, a mark behind a longer-lived one waits its turn, and until then
   * counts as expired by its time alone.
   */
  private dropExpiredReplayMarks(now: number): void {
    const queue = this.replayQueue;
    while (this.replayHead < queue.length && (queue[this.replayHead] as ReplayMark).expiresAt <= now) {
      this.dropReplayMark(queue[this.replayHead++] as ReplayMark);
    }
    this.compactReplayQueue();
  }

  /** Removes `mark` from the Map unless the fingerprint was marked again since. */
  private dropReplayMark(mark: ReplayMark): void {
    if (this.replayMarks.get(mark.fingerprint) === mark.expiresAt) this.replayMarks.delete(mark.fingerprint);
  }

  /** Drops the consumed front of the queue once it is most of it: amortised O(1). */
  private compactReplayQueue(): void {
    if (this.replayHead > 1024 && this.replayHead * 2 > this.replayQueue.length) {
      this.replayQueue.splice(0, this.replayHead);
      this.replayHead = 0;
    }
  }

  // ---- Duplicate login codes (issue 12) ----

  /** Code hash → the claim or the remembered login, apart from the LRU that sessions churn. */
  private readonly loginCodes = new Map<string, LoginCodeEntry>();

  override claimLoginCode(codeHash: string, ttlSeconds: number): Promise<WxLoginCodeClaim> {
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError());
    const now = this.now();
    const current = this.loginCodes.get(codeHash);
    if (current !== undefined && current.expiresAt > now) {
      return Promise.resolve(
        current.login === undefined ? { state: 'pending' } : { state: 'done', login: current.login },
      );
    }
    this.dropExpiredLoginCodes(now);
    const owner = randomBytes(12).toString('base64url');
    this.loginCodes.set(codeHash, { owner, expiresAt: now + ttlSeconds * 1000 });
    return Promise.resolve({ state: 'claimed', owner });
  }

  override rememberLogin(codeHash: string, login: WxRememberedLogin, ttlSeconds: number): Promise<void> {
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError());
    const remembered: WxRememberedLogin =
      login.unionid === undefined
        ? { appId: login.appId, openid: login.openid }
        : { appId: login.appId, openid: login.openid, unionid: login.unionid };
    this.loginCodes.delete(codeHash);
    if (ttlSeconds > 0) {
      this.loginCodes.set(codeHash, {
        owner: '',
        login: Object.freeze(remembered),
        expiresAt: this.now() + ttlSeconds * 1000,
      });
    }
    return Promise.resolve();
  }

  override releaseLoginCode(codeHash: string, owner: string): Promise<void> {
    const current = this.loginCodes.get(codeHash);
    if (current !== undefined && current.login === undefined && current.owner === owner) {
      this.loginCodes.delete(codeHash);
    }
    return Promise.resolve();
  }

  /** Entries live 5 minutes: oldest first in the Map, so the sweep stops at the first live one. */
  private dropExpiredLoginCodes(now: number): void {
    for (const [hash, entry] of this.loginCodes) {
      if (entry.expiresAt > now) break;
      this.loginCodes.delete(hash);
    }
    // Bounded like the replay marks: a flood of codes cannot grow memory without limit.
    while (this.loginCodes.size >= this.maxReplayMarks) {
      const oldest = this.loginCodes.keys().next();
      if (oldest.done === true) break;
      this.loginCodes.delete(oldest.value);
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`MemoryWxSessionStore: ${name} must be a positive integer`);
  }
  return value;
}

function finiteTtlError(): RangeError {
  return new RangeError('MemoryWxSessionStore: ttlSeconds must be a finite number');
}

/**
 * A copy built as a literal of fixed shape. A spread copy of the same object, once frozen, lands
 * in V8's dictionary mode at about three times the heap: what decides the memory per session.
 */
function copyOf(value: WxSessionRecord | WxUserKeys): WxSessionRecord | WxUserKeys {
  if ('sessionKey' in value) {
    const keys: WxUserKeys = { sessionKey: value.sessionKey, version: value.version };
    if (value.previousSessionKey !== undefined) keys.previousSessionKey = value.previousSessionKey;
    if (value.previousKeyExpiresAt !== undefined) keys.previousKeyExpiresAt = value.previousKeyExpiresAt;
    return keys;
  }
  const session: WxSessionRecord = { openid: value.openid, appId: value.appId, createdAt: value.createdAt };
  if (value.unionid !== undefined) session.unionid = value.unionid;
  return session;
}

/** A claimed code (no `login` yet) or a remembered login. */
interface LoginCodeEntry {
  readonly owner: string;
  readonly login?: WxRememberedLogin;
  readonly expiresAt: number;
}
