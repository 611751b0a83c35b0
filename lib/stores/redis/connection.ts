import { performance } from 'node:perf_hooks';
import type * as KeyvRedisModule from '@keyv/redis';
import { WxMissingPeerError, WxOpenDataConfigError } from '../../core/errors.js';
import { missingPackageIn } from '../../core/peers.js';
import { WxSessionStoreUnavailableError, type WxSessionStoreFailure } from '../../session/index.js';
import type { RedisConnectionSource, ResolvedRedisStoreOptions, WxRedisConnectOptions } from './options.js';

/**
 * The arguments of EVAL and EVALSHA as node-redis takes them.
 *
 * @internal
 */
export interface RedisScriptArguments {
  keys: string[];
  arguments: string[];
}

/**
 * The part of a node-redis client, cluster or sentinel the store uses. All three offer it; the
 * cluster routes each command by its first key. ioredis connections are seen through the same
 * calls (see `IoRedisCommands`).
 *
 * @internal
 */
export interface RedisCommands {
  readonly isOpen: boolean;
  /** Clients and sentinels only: connected and past the handshake. */
  readonly isReady?: boolean;
  get(key: string): Promise<unknown>;
  set(
    key: string,
    value: string,
    options?: { expiration?: { type: 'PX'; value: number }; condition?: 'NX' },
  ): Promise<unknown>;
  del(keys: string[]): Promise<unknown>;
  evalSha(sha1: string, options: RedisScriptArguments): Promise<unknown>;
  eval(script: string, options: RedisScriptArguments): Promise<unknown>;
  connect(): Promise<unknown>;
  /** A new connection with the same options (node-redis clients and clusters; not sentinels). */
  duplicate?(): RedisCommands;
  close?(): Promise<unknown>;
  destroy?(): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

/** What the store keeps of a `KeyvRedis` adapter. */
interface KeyvRedisLike {
  readonly client: unknown;
  isCluster(): boolean;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
}

type ConnectionState = 'down' | 'up' | 'closed';

/** What an own connection needs installed: @keyv/redis, and keyv, which it imports. */
const OWN_CONNECTION_PEERS = ['keyv', '@keyv/redis'] as const;

/**
 * How the store loads its optional peer for a connection of its own. Tests replace `keyvRedis`
 * to see what a missing package does without uninstalling it; nothing else should.
 *
 * @internal
 */
export const redisPeerLoader: { keyvRedis: () => Promise<typeof KeyvRedisModule> } = {
  keyvRedis: () => import('@keyv/redis'),
};

/**
 * The error for a failed import of @keyv/redis: a missing peer (a "not found" naming keyv or
 * @keyv/redis) or one that is there but does not load. Either way a configuration error, never
 * an unreachable Redis: no connection was tried.
 */
function peerLoadError(error: unknown): WxOpenDataConfigError {
  const missing = missingPackageIn(error, OWN_CONNECTION_PEERS);
  if (missing !== undefined) {
    return new WxMissingPeerError(
      'RedisWxSessionStore with url or redisOptions',
      [missing],
      OWN_CONNECTION_PEERS,
      'RedisWxSessionStore setup',
    );
  }
  // By its name, not instanceof: the error may come from another realm.
  const named = (error as { name?: unknown } | null)?.name;
  const name = typeof named === 'string' ? named : typeof error;
  return new WxOpenDataConfigError(
    [
      `@keyv/redis is installed but does not load (${name}): reinstall it (npm install ${OWN_CONNECTION_PEERS.join(' ')})`,
    ],
    'RedisWxSessionStore setup',
  );
}

/** A command sent to Redis and not yet answered. */
interface PendingCommand {
  /** Counted time this command has waited (event-loop lag left out, as for the silence). */
  waitedMs: number;
  /** Fails the command with a 503, unless it has been answered. */
  fail(reason: WxSessionStoreFailure): void;
}

/**
 * How many command timeouts one command may wait while Redis keeps answering others: only on a
 * Redis Cluster can one node stall while the others answer.
 */
const MAX_WAIT_FACTOR = 10;

/** Reconnect quickly: recovery within a second of Redis coming back matters more than a quiet log. */
const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** retries, 1000);
const CLOSE_GRACE_MS = 1000;

/**
 * One Redis connection with the store's failure policy around it:
 *
 * - Redis is judged by the connection, not by one command's age: while commands wait, a watchdog
 *   counts how long not one answer came back. Under load, a healthy Redis keeps answering (in
 *   order), so a long queue of commands is not an outage; and time this process spent busy
 *   elsewhere (event-loop lag) is not counted, as answers may be sitting unread. When the
 *   connection stays silent for `commandTimeoutMs` of counted time, several consecutive
 *   watchdog rounds, the connection is down: every waiting command fails with a 503 at once
 *   (a stalled server: SIGSTOP, a full disk, a long `KEYS`);
 * - one command waits at most `MAX_WAIT_FACTOR` command timeouts while others are answered (a
 *   single stalled node of a Cluster), then fails alone;
 * - a connection error marks the connection down at once; from then on operations fail at once,
 *   without sending anything: no queue of commands piles up behind a dead or stalled server
 *   (own connections also disable node-redis's offline queue);
 * - while down, a probe (one `GET`, at most one in flight) runs every `probeIntervalMs`; its
 *   first answer marks the connection up again. node-redis reconnects by itself meanwhile.
 *
 * @internal
 */
export class RedisConnection {
  /** Resolves to the client once it exists (own connections import @keyv/redis first). */
  readonly ready: Promise<RedisCommands>;
  private client: RedisCommands | undefined;
  private cluster = false;
  private readonly owned: boolean;
  private state: ConnectionState = 'down';
  private lastFailure: WxSessionStoreFailure = 'unreachable';
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private opening: Promise<void> | undefined;
  private readonly onError = (): void => this.markDown('unreachable');
  /** Why the client could not be made (a missing peer): every connect and operation says so. */
  private setupError: WxOpenDataConfigError | undefined;
  /** Commands sent and not yet answered. */
  private readonly pending = new Set<PendingCommand>();
  /** How long, in counted time, the waiting commands have gone without any answer from Redis. */
  private silentMs = 0;
  private lastTickAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private verdictScheduled = false;
  /**
   * A second connection of the store's own, for health checks only: its one `GET` is not queued
   * behind the commands waiting on the main connection, so it tells whether Redis itself answers.
   */
  private health: RedisCommands | undefined;
  /** The health check in flight, with the counted time it has waited. */
  private healthCheck: { waitedMs: number } | undefined;
  private readonly tickMs: number;
  /** The bound on one command's wait while other commands are answered (Cluster nodes). */
  private readonly maxWaitMs: number;

  constructor(
    private readonly options: ResolvedRedisStoreOptions,
    private readonly probeKey: string,
  ) {
    this.owned = options.source.kind === 'url' || options.source.kind === 'options';
    this.tickMs = Math.max(1, Math.min(25, Math.floor(options.commandTimeoutMs / 6)));
    this.maxWaitMs = options.commandTimeoutMs * MAX_WAIT_FACTOR;
    // A borrowed connection is checked here, so a wrong one fails the constructor.
    const borrowed = this.borrowedClient(options.source);
    const created = borrowed === undefined ? this.createOwnClient(options.source) : Promise.resolve(borrowed);
    this.ready = created.then((client) => {
      this.client = client;
      client.on('error', this.onError);
      if (this.state !== 'closed' && !client.isOpen) this.startConnect(client);
      this.openHealthConnection(client);
      return client;
    });
    // A failure here surfaces through connect() and every operation; not as an unhandled rejection.
    this.ready.catch((error: unknown) => {
      if (!(error instanceof WxOpenDataConfigError)) return;
      this.setupError = error;
      this.stopProbing();
    });
    this.markDown('unreachable');
  }

  /** Whether the connection is a Redis Cluster, where multi-key scripts must stay in one slot. */
  get isCluster(): boolean {
    return this.cluster;
  }

  /** Whether operations are currently sent (not failing fast). */
  get isUp(): boolean {
    return this.state === 'up';
  }

  /**
   * Runs `work` against Redis within the command timeout.
   *
   * @throws {@link WxSessionStoreUnavailableError} at once while the connection is down or
   *   closed, after the timeout when Redis does not answer, and when it answers with an error
   */
  run<T>(operation: string, work: (redis: RedisCommands) => Promise<T>): Promise<T> {
    const client = this.client;
    if (this.state === 'closed') return Promise.reject(this.unavailable('closed', operation));
    if (this.setupError !== undefined) return Promise.reject(this.setupError);
    if (client === undefined || this.state !== 'up' || !this.isConnected(client)) {
      this.markDown(this.state === 'up' ? 'unreachable' : this.lastFailure);
      return Promise.reject(this.unavailable(this.lastFailure, operation));
    }
    return new Promise<T>((resolve, reject) => {
      const command: PendingCommand = {
        waitedMs: 0,
        fail: (reason) => {
          if (!this.pending.delete(command)) return;
          reject(this.unavailable(reason, operation));
        },
      };
      this.watch(command);
      let pending: Promise<T>;
      try {
        pending = work(client);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          if (!this.settle(command, true)) return;
          resolve(value);
        },
        (error: unknown) => {
          // An error reply means Redis is there and refused this command; anything else means
          // the connection is gone.
          const replied = isErrorReply(error);
          if (!this.settle(command, replied)) return;
          if (!replied) this.markDown('unreachable');
          reject(this.unavailable(replied ? 'failed' : 'unreachable', operation));
        },
      );
    });
  }

  /** Starts watching a command sent to Redis; the watchdog runs while any is waiting. */
  private watch(command: PendingCommand): void {
    if (this.pending.size === 0) {
      this.silentMs = 0;
      this.lastTickAt = performance.now();
      this.watchdog = setInterval(() => this.tick(), this.tickMs);
      this.watchdog.unref();
    }
    this.pending.add(command);
  }

  /**
   * Ends watching a command. An answer (a reply or an error reply) is evidence that Redis is
   * alive: the connection's silence starts again from zero.
   *
   * @returns whether the command was still waiting (not already failed by the watchdog)
   */
  private settle(command: PendingCommand, answered: boolean): boolean {
    if (!this.pending.delete(command)) return false;
    if (answered) this.silentMs = 0;
    if (this.pending.size === 0) this.stopWatchdog();
    return true;
  }

  /**
   * One watchdog round. Silence, the time commands waited while no answer at all came back,
   * grows by the time since the last round, but by at most one round's worth: when this process
   * was late (busy with a burst of requests, a long GC, a loaded machine), answers may be sitting
   * unread in the socket, and that time says nothing about Redis. Redis is judged down when the
   * silence reaches the command timeout and the health check (started at a third of it) has had
   * two thirds of it without an answer. The verdict is given after one more poll for I/O
   * (`setImmediate` runs after it), so an answer that already arrived still counts.
   */
  private tick(): void {
    const now = performance.now();
    const counted = Math.min(now - this.lastTickAt, this.tickMs);
    this.lastTickAt = now;
    this.silentMs += counted;
    let overdue = false;
    for (const command of this.pending) {
      command.waitedMs += counted;
      if (command.waitedMs >= this.maxWaitMs) overdue = true;
    }
    const check = this.healthCheck;
    if (check !== undefined) {
      check.waitedMs += counted;
      // A health check that never settles (a half-open socket) is given up; silence decides.
      if (check.waitedMs >= this.maxWaitMs) this.healthCheck = undefined;
    }
    if (this.silentMs >= this.options.commandTimeoutMs / 3) this.checkHealth();
    if (this.verdictScheduled || (!this.isSilentTooLong() && !overdue)) return;
    this.verdictScheduled = true;
    setImmediate(() => {
      this.verdictScheduled = false;
      if (this.pending.size === 0) return;
      if (this.isSilentTooLong()) {
        // Not one answer for commandTimeoutMs of this process's attention: Redis is stalled or
        // the connection is dead. Everything waiting on it fails now, later commands fail fast.
        this.markDown('timeout');
        for (const command of [...this.pending]) command.fail('timeout');
        this.stopWatchdog();
        return;
      }
      // Answers keep coming, but not for these: one Cluster node stalled among live ones.
      for (const command of [...this.pending]) {
        if (command.waitedMs >= this.maxWaitMs) command.fail('timeout');
      }
      if (this.pending.size === 0) this.stopWatchdog();
    });
  }

  /** Whether the evidence says Redis is not answering. */
  private isSilentTooLong(): boolean {
    const timeout = this.options.commandTimeoutMs;
    if (this.silentMs < timeout) return false;
    const health = this.health;
    // Without a usable health connection, the silence alone decides.
    if (health === undefined || !this.isConnected(health)) return true;
    return this.healthCheck !== undefined && this.healthCheck.waitedMs >= (timeout * 2) / 3;
  }

  /**
   * The second piece of evidence, once the main connection has been silent for a third of the
   * command timeout: one `GET` on the health connection. Its answer, even an error reply, means
   * Redis answers and the silence is this client's own queue (a burst of commands being encoded,
   * written and parsed on a busy process): the silence starts again. Without an answer, Redis is
   * down once the silence reaches the timeout.
   */
  private checkHealth(): void {
    const health = this.health;
    if (this.healthCheck !== undefined || health === undefined || !this.isConnected(health)) return;
    const check = { waitedMs: 0 };
    this.healthCheck = check;
    const settled = (answered: boolean): void => {
      if (this.healthCheck !== check) return;
      this.healthCheck = undefined;
      if (answered && this.pending.size > 0) this.silentMs = 0;
    };
    health.get(this.probeKey).then(
      () => settled(true),
      (error: unknown) => settled(isErrorReply(error)),
    );
  }

  /** Opens the health connection when the client can make one; without, silence alone decides. */
  private openHealthConnection(client: RedisCommands): void {
    if (this.state === 'closed' || typeof client.duplicate !== 'function') return;
    try {
      const health = client.duplicate();
      health.on('error', () => undefined);
      this.health = health;
      health.connect().catch(() => undefined);
    } catch {
      // No health connection: silence alone decides.
    }
  }

  private stopWatchdog(): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /**
   * Resolves once Redis answers; rejects after `connectTimeoutMs` if it does not (the connection
   * keeps trying in the background).
   */
  connect(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.unavailable('closed', 'connect'));
    if (this.state === 'up') return Promise.resolve();
    return (this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    }));
  }

  /** Stops probing, and closes the connection if this store opened it. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    this.stopProbing();
    for (const command of [...this.pending]) command.fail('closed');
    this.stopWatchdog();
    const client = await this.ready.catch(() => undefined);
    if (client === undefined) return;
    client.off('error', this.onError);
    // The health connection is always the store's own.
    if (this.health !== undefined) await closeClient(this.health, wasUp);
    if (!this.owned) return;
    await closeClient(client, wasUp);
  }

  private async open(): Promise<void> {
    const giveUpAt = performance.now() + this.options.connectTimeoutMs;
    const client = await withTimeout(this.ready, this.options.connectTimeoutMs).catch((error: unknown) => {
      // A missing peer is the app's to fix, not an outage to wait out.
      if (error instanceof WxOpenDataConfigError) throw error;
      return undefined;
    });
    // Ends: every round pauses 10 ms or more, until giveUpAt.
    while (client !== undefined && this.state === 'down' && performance.now() < giveUpAt) {
      if (this.isConnected(client)) await this.probe();
      if (this.state !== 'down') break;
      await pause(10);
    }
    if (this.state === 'up') return;
    throw this.unavailable(this.state === 'closed' ? 'closed' : this.lastFailure, 'connect');
  }

  private borrowedClient(source: RedisConnectionSource): RedisCommands | undefined {
    if (source.kind === 'client') {
      if (source.library === 'ioredis') {
        const client = new IoRedisCommands(source.client as IoRedis);
        this.cluster = client.isCluster;
        return client;
      }
      this.cluster = looksLikeCluster(source.client);
      return source.client as RedisCommands;
    }
    if (source.kind === 'keyv') {
      const adapter = keyvRedisOf(source.keyv);
      this.cluster = adapter.isCluster();
      return adapter.client as RedisCommands;
    }
    return undefined;
  }

  private async createOwnClient(source: RedisConnectionSource): Promise<RedisCommands> {
    if (source.kind !== 'url' && source.kind !== 'options') throw new TypeError('not an own connection');
    // Loaded on demand: @keyv/redis is an optional peer, needed only by those who use this store.
    const { default: KeyvRedis } = await redisPeerLoader.keyvRedis().catch((error: unknown) => {
      throw peerLoadError(error);
    });
    const adapter = new KeyvRedis(this.ownClientOptions(source), { throwOnErrors: true });
    // KeyvRedis re-emits client errors; the connection's own listener handles them.
    adapter.on('error', () => undefined);
    this.cluster = adapter.isCluster();
    return adapter.client as unknown as RedisCommands;
  }

  /** Own connections: fail fast while disconnected, time out connecting, reconnect quickly. */
  private ownClientOptions(
    source: Extract<RedisConnectionSource, { kind: 'url' | 'options' }>,
  ): WxRedisConnectOptions {
    const socket = { connectTimeout: this.options.connectTimeoutMs, reconnectStrategy };
    if (source.kind === 'url') return { url: source.url, disableOfflineQueue: true, socket };
    const options = source.options;
    // Cluster and Sentinel options are taken as given: their socket settings sit elsewhere.
    if ('rootNodes' in options || 'sentinelRootNodes' in options) return options;
    return { disableOfflineQueue: true, ...options, socket: { ...socket, ...options.socket } };
  }

  private startConnect(client: RedisCommands): void {
    client.connect().catch(() => this.markDown('unreachable'));
  }

  private isConnected(client: RedisCommands): boolean {
    // node-redis clusters have no isReady; their isOpen is theirs.
    return client.isReady ?? client.isOpen;
  }

  private markDown(reason: WxSessionStoreFailure): void {
    if (this.state === 'closed') return;
    this.lastFailure = reason;
    this.state = 'down';
    if (this.probeTimer === undefined) {
      this.probeTimer = setInterval(() => void this.probe(), this.options.probeIntervalMs);
      // Probing must not keep a process alive that is otherwise done.
      this.probeTimer.unref();
    }
  }

  private markUp(): void {
    if (this.state === 'closed') return;
    this.state = 'up';
    this.stopProbing();
  }

  private stopProbing(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** One `GET` with the command timeout; its answer, even "no such key", means Redis is back. */
  private async probe(): Promise<void> {
    const client = this.client;
    if (this.probing || this.state !== 'down' || client === undefined) return;
    if (!this.isConnected(client)) {
      // node-redis reconnects an open client by itself; an own client whose first connection
      // failed for good is started again.
      if (this.owned && !client.isOpen) this.startConnect(client);
      return;
    }
    this.probing = true;
    try {
      await withTimeout(client.get(this.probeKey), this.options.commandTimeoutMs);
      this.markUp();
    } catch {
      // Still down; the next round tries again.
    } finally {
      this.probing = false;
    }
  }

  private unavailable(reason: WxSessionStoreFailure, operation: string): WxSessionStoreUnavailableError {
    return new WxSessionStoreUnavailableError(reason, operation, this.options.retryAfterSeconds);
  }
}

/** The `KeyvRedis` store of a Keyv instance, or the store itself. */
function keyvRedisOf(keyv: object): KeyvRedisLike {
  const store = 'store' in keyv ? (keyv as { store: unknown }).store : keyv;
  if (isKeyvRedis(store)) return store;
  if (isKeyvRedis(keyv)) return keyv;
  throw new TypeError('RedisWxSessionStore: keyv must be a Keyv instance on a @keyv/redis store');
}

function isKeyvRedis(value: unknown): value is KeyvRedisLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { isCluster?: unknown }).isCluster === 'function' &&
    typeof (value as { client?: unknown }).client === 'object'
  );
}

/** node-redis clusters have slot and master tables; clients and sentinels do not. */
function looksLikeCluster(client: object): boolean {
  return 'slots' in client && 'masters' in client;
}

/** node-redis's error replies (`ErrorReply` and subclasses) and ioredis's (`ReplyError`). */
const ERROR_REPLY_CLASSES = new Set(['ErrorReply', 'ReplyError']);

/**
 * Whether `error` is an error reply of the server, found by class name along the prototype chain:
 * the class may come from another copy of either library.
 */
function isErrorReply(error: unknown): boolean {
  for (let proto: unknown = error; proto !== null && typeof proto === 'object';) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && ERROR_REPLY_CLASSES.has(name)) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

/** The calls the store makes of an ioredis client or Cluster (checked by the store's options). */
interface IoRedis {
  readonly status: string;
  readonly isCluster?: boolean;
  get(key: string): Promise<unknown>;
  set(key: string, value: string, ...options: Array<string | number>): Promise<unknown>;
  del(...keys: string[]): Promise<unknown>;
  evalsha(sha1: string, numberOfKeys: number, ...keysAndArguments: string[]): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...keysAndArguments: string[]): Promise<unknown>;
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  duplicate?(): IoRedis;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
}

/**
 * An ioredis client or Cluster seen through the node-redis calls the store makes, so that both
 * libraries run the same store code: the same Lua scripts (EVALSHA, EVAL on NOSCRIPT), the same
 * hash-tagged keys (ioredis's Cluster routes a script by its keys as node-redis's does), the same
 * replies (bulk strings, integers, arrays; a Lua `false` is `null` in both).
 */
class IoRedisCommands implements RedisCommands {
  constructor(private readonly redis: IoRedis) {}

  get isCluster(): boolean {
    return this.redis.isCluster === true;
  }

  /** Like node-redis's: from connect() until closed for good, reconnections included. */
  get isOpen(): boolean {
    const status = this.redis.status;
    return status !== 'wait' && status !== 'end' && status !== 'close';
  }

  get isReady(): boolean {
    return this.redis.status === 'ready';
  }

  get(key: string): Promise<unknown> {
    return this.redis.get(key);
  }

  set(
    key: string,
    value: string,
    options?: { expiration?: { type: 'PX'; value: number }; condition?: 'NX' },
  ): Promise<unknown> {
    const extra: Array<string | number> = [];
    if (options?.expiration !== undefined) extra.push('PX', options.expiration.value);
    if (options?.condition !== undefined) extra.push(options.condition);
    return this.redis.set(key, value, ...extra);
  }

  del(keys: string[]): Promise<unknown> {
    return this.redis.del(...keys);
  }

  evalSha(sha1: string, options: RedisScriptArguments): Promise<unknown> {
    return this.redis.evalsha(sha1, options.keys.length, ...options.keys, ...options.arguments);
  }

  eval(script: string, options: RedisScriptArguments): Promise<unknown> {
    return this.redis.eval(script, options.keys.length, ...options.keys, ...options.arguments);
  }

  connect(): Promise<unknown> {
    return this.redis.connect();
  }

  duplicate(): RedisCommands {
    if (this.redis.duplicate === undefined) throw new TypeError('no duplicate()');
    return new IoRedisCommands(this.redis.duplicate());
  }

  close(): Promise<unknown> {
    return this.redis.quit();
  }

  destroy(): void {
    this.redis.disconnect();
  }

  on(event: 'error', listener: (error: unknown) => void): unknown {
    return this.redis.on(event, listener);
  }

  off(event: 'error', listener: (error: unknown) => void): unknown {
    return this.redis.off(event, listener);
  }
}

/** Closes a connection gracefully when it was answering, and destroys it in any case. */
async function closeClient(client: RedisCommands, graceful: boolean): Promise<void> {
  try {
    // A graceful close waits for pending replies, which a stalled server never sends.
    if (graceful && client.close !== undefined) await withTimeout(client.close(), CLOSE_GRACE_MS);
  } catch {
    // Destroyed below.
  } finally {
    try {
      if (client.isOpen) client.destroy?.();
    } catch {
      // Already closed.
    }
  }
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
