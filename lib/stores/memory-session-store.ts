import { randomBytes } from 'node:crypto';
import type { WxAccessTokenLock, WxSharedAccessToken } from '../api/access-token-store.js';
import type { WxKeyAttempt, WxSessionRecord, WxSessionWithKeys, WxUserKeys } from '../session/index.js';
import type { WxLoginCodeClaim, WxRememberedLogin } from '../session/index.js';
import { WxSessionStore, wxUserId } from '../session/index.js';
import { checkBudgetId, checkKeyAttempt, userKeyBudgetId } from '../session/key-budget.js';
import { finiteTtlError } from '../session/ttl.js';
import { WxOpenDataConfigError } from '../core/errors.js';

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

/**
 * Numbers below 2^30 in magnitude are small integers to V8, kept inside the object; any other
 * number is a separate 16-byte heap number behind a pointer. Times and versions are larger, so
 * the compact entries keep them as two small halves, or as a small offset from another value.
 */
const SMALL = 2 ** 30;
const isSmall = (value: number): boolean => Number.isInteger(value) && value > -SMALL && value < SMALL;
/** Whether `value` splits into two small halves: a safe, non-negative integer. */
const splits = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

/**
 * A session record and its expiry in one object of fixed shape, about 165 bytes with its token
 * and its slot in the Map (issue 16: 400 bytes a session, its user's keys included):
 * - no wrapper around a copy of the caller's object, and a fresh record for each read, so what a
 *   caller does to one never reaches the store;
 * - the user id instead of the openid: the same string the user's keys are held under, so one
 *   string serves both (the openid is the part after `appId:`);
 * - `createdAt` in two small halves and the expiry as a small offset from it.
 * {@link WideSessionEntry} holds what does not fit: a unionid, times that are no integers.
 */
class SessionEntry {
  constructor(
    /** `wxUserId(appId, openid)`. */
    readonly userId: string,
    readonly appId: string,
    private readonly createdHigh: number,
    private readonly createdLow: number,
    private readonly expiresIn: number,
  ) {}

  static of(
    userId: string,
    appId: string,
    unionid: string | undefined,
    createdAt: number,
    expiresAt: number,
  ) {
    const expiresIn = expiresAt - createdAt;
    if (
      unionid !== undefined ||
      !splits(createdAt) ||
      !isSmall(expiresIn) ||
      createdAt + expiresIn !== expiresAt
    ) {
      return new WideSessionEntry(userId, appId, unionid, createdAt, expiresAt);
    }
    const high = Math.floor(createdAt / SMALL);
    return new SessionEntry(userId, appId, high, createdAt - high * SMALL, expiresIn);
  }

  get unionid(): string | undefined {
    return undefined;
  }

  get createdAt(): number {
    return this.createdHigh * SMALL + this.createdLow;
  }

  get expiresAt(): number {
    return this.createdAt + this.expiresIn;
  }

  /** A fresh record each read. */
  record(): WxSessionRecord {
    const session: WxSessionRecord = {
      openid: this.userId.slice(this.appId.length + 1),
      appId: this.appId,
      createdAt: this.createdAt,
    };
    const unionid = this.unionid;
    if (unionid !== undefined) session.unionid = unionid;
    return session;
  }
}

/** A session that does not fit {@link SessionEntry}'s compact fields. */
class WideSessionEntry extends SessionEntry {
  constructor(
    userId: string,
    appId: string,
    private readonly wideUnionid: string | undefined,
    private readonly wideCreatedAt: number,
    private readonly wideExpiresAt: number,
  ) {
    super(userId, appId, 0, 0, 0);
  }

  override get unionid(): string | undefined {
    return this.wideUnionid;
  }

  override get createdAt(): number {
    return this.wideCreatedAt;
  }

  override get expiresAt(): number {
    return this.wideExpiresAt;
  }
}

/**
 * A user's keys and their expiry in one object of fixed shape, see {@link SessionEntry}: the
 * version (a clock reading in microseconds, as `WxSessionService` takes it) in two small halves,
 * the expiry as a small offset in milliseconds from it. {@link WideUserEntry} holds the rest: a
 * previous key within its grace period, versions and times that do not fit.
 */
class UserEntry {
  constructor(
    /** The key of this entry in the Map, the same string every session of the user holds. */
    readonly userId: string,
    readonly sessionKey: string,
    private readonly versionHigh: number,
    private readonly versionLow: number,
    private readonly expiresIn: number,
  ) {}

  static of(userId: string, keys: WxUserKeys, expiresAt: number): UserEntry {
    const { version, previousSessionKey, previousKeyExpiresAt } = keys;
    const sessionKey = flat(keys.sessionKey);
    const base = Math.floor(version / 1000);
    const expiresIn = expiresAt - base;
    if (previousSessionKey !== undefined || previousKeyExpiresAt !== undefined || !splits(version)) {
      return new WideUserEntry(
        userId,
        sessionKey,
        version,
        previousSessionKey,
        previousKeyExpiresAt,
        expiresAt,
      );
    }
    if (!isSmall(expiresIn) || base + expiresIn !== expiresAt) {
      return new WideUserEntry(userId, sessionKey, version, undefined, undefined, expiresAt);
    }
    const high = Math.floor(version / SMALL);
    return new UserEntry(userId, sessionKey, high, version - high * SMALL, expiresIn);
  }

  get version(): number {
    return this.versionHigh * SMALL + this.versionLow;
  }

  get expiresAt(): number {
    return Math.floor(this.version / 1000) + this.expiresIn;
  }

  get previousSessionKey(): string | undefined {
    return undefined;
  }

  get previousKeyExpiresAt(): number | undefined {
    return undefined;
  }

  keys(): WxUserKeys {
    const keys: WxUserKeys = { sessionKey: this.sessionKey, version: this.version };
    const { previousSessionKey, previousKeyExpiresAt } = this;
    if (previousSessionKey !== undefined) keys.previousSessionKey = previousSessionKey;
    if (previousKeyExpiresAt !== undefined) keys.previousKeyExpiresAt = previousKeyExpiresAt;
    return keys;
  }
}

/** A user's keys that do not fit {@link UserEntry}'s compact fields. */
class WideUserEntry extends UserEntry {
  private readonly widePreviousSessionKey: string | undefined;

  constructor(
    userId: string,
    sessionKey: string,
    private readonly wideVersion: number,
    previousSessionKey: string | undefined,
    private readonly widePreviousKeyExpiresAt: number | undefined,
    private readonly wideExpiresAt: number,
  ) {
    super(userId, sessionKey, 0, 0, 0);
    this.widePreviousSessionKey = previousSessionKey === undefined ? undefined : flat(previousSessionKey);
  }

  override get version(): number {
    return this.wideVersion;
  }

  override get expiresAt(): number {
    return this.wideExpiresAt;
  }

  override get previousSessionKey(): string | undefined {
    return this.widePreviousSessionKey;
  }

  override get previousKeyExpiresAt(): number | undefined {
    return this.widePreviousKeyExpiresAt;
  }
}

/**
 * The rare key that names both a session (as its token) and a user's keys (as the user id): one
 * slot of the Map holds both, and counts as two entries.
 */
class SharedSlot {
  constructor(
    public session: SessionEntry,
    public user: UserEntry,
  ) {}
}

type Slot = SessionEntry | UserEntry | SharedSlot;

/** One user key's budget of evaluations, see {@link WxSessionStore.takeKeyAttempt}. */
interface KeyBudget {
  inFlight: number;
  failed: number;
  readonly expiresAt: number;
}

interface ReplayMark {
  readonly fingerprint: string;
  readonly expiresAt: number;
}

interface HeldLock {
  readonly owner: string;
  readonly expiresAt: number;
}

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
  /**
   * Token → session, user id → keys, in one Map so that its order is the LRU order of both: no
   * prefix tells them apart (a prefixed key is a second string per entry), the class does.
   */
  private readonly slots = new Map<string, Slot>();
  /** Entries held: a shared slot counts two. */
  private count = 0;
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

  /** @throws `WxOpenDataConfigError` listing every bad option */
  constructor(options: MemoryWxSessionStoreOptions = {}) {
    super();
    const problems: string[] = [];
    const positiveInteger = (name: string, value: unknown): number => {
      if (!Number.isSafeInteger(value) || (value as number) < 1)
        problems.push(`${name} must be a positive integer`);
      return value as number;
    };
    this.maxEntries = positiveInteger('maxEntries', options.maxEntries ?? 100_000);
    this.maxReplayMarks = positiveInteger('maxReplayMarks', options.maxReplayMarks ?? 100_000);
    if (options.now !== undefined && typeof options.now !== 'function') {
      problems.push('now must be a function returning milliseconds since the epoch');
    }
    if (problems.length > 0) throw new WxOpenDataConfigError(problems, 'MemoryWxSessionStore options');
    this.maxKeyBudgets = 3 * this.maxEntries;
    this.now = options.now ?? Date.now;
  }

  /**
   * How many entries are held, expired ones not yet evicted included (replay marks and key
   * budgets apart).
   */
  get size(): number {
    return this.count;
  }

  get(token: string): Promise<WxSessionRecord | undefined> {
    return Promise.resolve(this.readSession(token)?.record());
  }

  set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void> {
    // A NaN or infinite expiry would compare false against every clock reading: never expire.
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError(STORE));
    if (ttlSeconds <= 0) return this.delete(token);
    const { appId, openid, unionid, createdAt } = session;
    const userId = this.heldUserId(wxUserId(appId, openid));
    const entry = SessionEntry.of(userId, appId, unionid, createdAt, this.now() + ttlSeconds * 1000);
    this.place(token, entry, false);
    return Promise.resolve();
  }

  delete(token: string): Promise<void> {
    this.place(token, undefined, false);
    return Promise.resolve();
  }

  /** Both reads in one step: every guarded request makes this call. */
  override getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    const session = this.readSession(token);
    if (session === undefined) return Promise.resolve(undefined);
    const keys = this.readUser(session.userId);
    return Promise.resolve({ session: session.record(), keys: keys?.keys() });
  }

  getUserKeys(userId: string): Promise<WxUserKeys | undefined> {
    return Promise.resolve(this.readUser(userId)?.keys());
  }

  setUserKeys(
    userId: string,
    keys: WxUserKeys,
    expectedVersion: number | null,
    ttlSeconds: number,
  ): Promise<boolean> {
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError(STORE));
    const current = this.readUser(userId);
    if ((current?.version ?? null) !== expectedVersion) return Promise.resolve(false);
    if (ttlSeconds <= 0) {
      this.place(userId, undefined, true);
    } else {
      const held = current?.userId ?? this.heldUserId(userId);
      this.place(held, UserEntry.of(held, keys, this.now() + ttlSeconds * 1000), true);
    }
    return Promise.resolve(true);
  }

  /** The store's clock (the `now` option), in microseconds. */
  override clockMicros(userId: string): Promise<number> {
    void userId;
    return Promise.resolve(this.now() * 1000);
  }

  claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean> {
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError(STORE));
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
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError(STORE));
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

  /** The live session of `token`, now the most recently used; an expired one is dropped. */
  private readSession(token: string): SessionEntry | undefined {
    const slot = this.slots.get(token);
    const entry = slot instanceof SharedSlot ? slot.session : slot;
    if (!(entry instanceof SessionEntry)) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.place(token, undefined, false);
      return undefined;
    }
    this.touch(token, slot as Slot);
    return entry;
  }

  /** The live keys of `userId`, now the most recently used; expired ones are dropped. */
  private readUser(userId: string): UserEntry | undefined {
    const slot = this.slots.get(userId);
    const entry = slot instanceof SharedSlot ? slot.user : slot;
    if (!(entry instanceof UserEntry)) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.place(userId, undefined, true);
      return undefined;
    }
    this.touch(userId, slot as Slot);
    return entry;
  }

  /**
   * `userId` as the one string the store holds it as: the key of the user's entry when there is
   * one (its sessions then share the string), else a flat copy.
   */
  private heldUserId(userId: string): string {
    const slot = this.slots.get(userId);
    const entry = slot instanceof SharedSlot ? slot.user : slot;
    return entry instanceof UserEntry ? entry.userId : flat(userId);
  }

  /** Re-inserting moves a slot to the end of the Map's order: the most recently used. */
  private touch(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.slots.set(key, slot);
  }

  /**
   * Puts (or with `undefined`, removes) the session or the user's keys under `key`, as the most
   * recently used entry, leaving the other kind under the same key as it is; then evicts the
   * least recently used entries past `maxEntries`.
   */
  private place(key: string, entry: SessionEntry | UserEntry | undefined, user: boolean): void {
    const slot = this.slots.get(key);
    let other: SessionEntry | UserEntry | undefined;
    if (slot !== undefined) {
      if (slot instanceof SharedSlot) other = user ? slot.session : slot.user;
      else if (slot instanceof UserEntry !== user) other = slot;
      // Removing what is not there is no use of the other kind.
      if (entry === undefined && other === slot) return;
      this.slots.delete(key);
      this.count -= slot instanceof SharedSlot ? 2 : 1;
    }
    if (entry === undefined || other === undefined) {
      const single = entry ?? other;
      if (single === undefined) return;
      this.slots.set(key, single);
      this.count += 1;
    } else {
      const shared = user
        ? new SharedSlot(other as SessionEntry, entry as UserEntry)
        : new SharedSlot(entry as SessionEntry, other as UserEntry);
      this.slots.set(key, shared);
      this.count += 2;
    }
    while (this.count > this.maxEntries) this.evictOldest();
  }

  /** Drops the least recently used entry; of a shared slot, its session. */
  private evictOldest(): void {
    const oldest = this.slots.entries().next();
    if (oldest.done === true) return;
    const [key, slot] = oldest.value;
    // Setting an existing key keeps its place in the order.
    if (slot instanceof SharedSlot) this.slots.set(key, slot.user);
    else this.slots.delete(key);
    this.count -= 1;
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
    for (const [userId, slot] of this.slots) {
      const keys = slot instanceof SharedSlot ? slot.user : slot;
      if (!(keys instanceof UserEntry) || keys.expiresAt <= now) continue;
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
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError(STORE));
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
    if (!Number.isFinite(ttlSeconds)) return Promise.reject(finiteTtlError(STORE));
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

/**
 * `text` as one flat string. A string built by concatenation is a tree of parts in V8 (an openid
 * of `'o' + rest` holds both, 80 bytes instead of 48); the store keeps each string for as long as
 * the entry lives, so it keeps a flat copy. Writes only: logins, not guarded requests.
 */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** A claimed code (no `login` yet) or a remembered login. */
interface LoginCodeEntry {
  readonly owner: string;
  readonly login?: WxRememberedLogin;
  readonly expiresAt: number;
}
