import { performance } from 'node:perf_hooks';
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
 * cluster routes each command by its first key.
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

/** Reconnect quickly: recovery within a second of Redis coming back matters more than a quiet log. */
const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** retries, 1000);
const CLOSE_GRACE_MS = 1000;

/**
 * One Redis connection with the store's failure policy around it:
 *
 * - every operation has a deadline (`commandTimeoutMs`): node-redis's own command timeout stops
 *   counting once a command is written, so a stalled server (SIGSTOP, a full disk, a long
 *   `KEYS`) would otherwise hold the request forever;
 * - the first timeout or connection error marks the connection down, and from then on
 *   operations fail at once, without sending anything: no queue of commands piles up behind a
 *   dead or stalled server (own connections also disable node-redis's offline queue);
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

  constructor(
    private readonly options: ResolvedRedisStoreOptions,
    private readonly probeKey: string,
  ) {
    this.owned = options.source.kind === 'url' || options.source.kind === 'options';
    // A borrowed connection is checked here, so a wrong one fails the constructor.
    const borrowed = this.borrowedClient(options.source);
    const created = borrowed === undefined ? this.createOwnClient(options.source) : Promise.resolve(borrowed);
    this.ready = created.then((client) => {
      this.client = client;
      client.on('error', this.onError);
      if (this.state !== 'closed' && !client.isOpen) this.startConnect(client);
      return client;
    });
    // A failure here surfaces through connect() and every operation; not as an unhandled rejection.
    this.ready.catch(() => undefined);
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
    if (client === undefined || this.state !== 'up' || !this.isConnected(client)) {
      this.markDown(this.state === 'up' ? 'unreachable' : this.lastFailure);
      return Promise.reject(this.unavailable(this.lastFailure, operation));
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        // Timers run before I/O in the event loop: after a long pause of this process (a major
        // GC, a CPU-bound handler) the reply may be sitting unread. The check phase comes after
        // one poll for I/O, so a reply that already arrived still wins.
        setImmediate(() => {
          if (settled) return;
          settled = true;
          this.markDown('timeout');
          reject(this.unavailable('timeout', operation));
        });
      }, this.options.commandTimeoutMs);
      let pending: Promise<T>;
      try {
        pending = work(client);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // An error reply means Redis is there and refused this command; anything else means
          // the connection is gone.
          const replied = isErrorReply(error);
          if (!replied) this.markDown('unreachable');
          reject(this.unavailable(replied ? 'failed' : 'unreachable', operation));
        },
      );
    });
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
    const client = await this.ready.catch(() => undefined);
    if (client === undefined) return;
    client.off('error', this.onError);
    if (!this.owned) return;
    try {
      // A graceful close waits for pending replies, which a stalled server never sends.
      if (wasUp && client.close !== undefined) await withTimeout(client.close(), CLOSE_GRACE_MS);
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

  private async open(): Promise<void> {
    const giveUpAt = performance.now() + this.options.connectTimeoutMs;
    const client = await withTimeout(this.ready, this.options.connectTimeoutMs).catch(() => undefined);
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
      this.cluster = looksLikeCluster(source.client);
      return source.client as unknown as RedisCommands;
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
    const { default: KeyvRedis } = await import('@keyv/redis');
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
    return this.cluster ? client.isOpen : (client.isReady ?? client.isOpen);
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

/**
 * Whether `error` is an error reply of the server (node-redis's `ErrorReply` and subclasses),
 * found by name along the prototype chain: the class may come from another copy of the module.
 */
function isErrorReply(error: unknown): boolean {
  for (let proto: unknown = error; proto !== null && typeof proto === 'object';) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === 'ErrorReply') return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
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
