import { performance } from 'node:perf_hooks';
import { pause } from './deadline.js';
import { WxApiTimeoutError } from './errors.js';
import type { WxAccessTokenStore, WxSharedAccessToken } from './access-token-store.js';

/**
 * An access token as the stable-token endpoint hands it out.
 *
 * @internal
 */
export interface WxFetchedAccessToken {
  readonly accessToken: string;
  /** Lifetime in seconds, counted from when the request was sent. */
  readonly expiresInSeconds: number;
}

/** Refresh this long before expiry at most... */
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** ...or sooner for short-lived tokens, so a token is never refreshed as soon as it arrives. */
const REFRESH_MARGIN_FRACTION = 0.1;

/**
 * WeChat allows a forced stable-token refresh at most 20 times a day and 30 s apart; within this
 * interval after one, a rejected token is replaced by a normal (unforced) fetch instead.
 */
const FORCE_REFRESH_MIN_INTERVAL_MS = 30_000;

/**
 * When a token fetched at `requestedAt` should be replaced: before expiry by 5 minutes or 10% of
 * its lifetime, whichever is smaller, so a call never leaves with a token about to lapse.
 *
 * @internal
 */
export function accessTokenRefreshAt(requestedAt: number, expiresInSeconds: number): number {
  const lifetimeMs = expiresInSeconds * 1000;
  return requestedAt + lifetimeMs - Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs * REFRESH_MARGIN_FRACTION);
}

/**
 * What a process knows of its mini program's access token, without asking WeChat: `fresh` (held
 * and before its refresh time), `due` (held, refresh time passed), `absent` (none fetched yet,
 * or dropped); `failing` when the last fetch failed and no fresh token is held.
 *
 * @public
 */
export type WxAccessTokenStatus = 'fresh' | 'due' | 'absent' | 'failing';

interface CachedAccessToken {
  readonly accessToken: string;
  readonly refreshAt: number;
}

/**
 * What {@link WxApiClient} asks of its access-token cache, in-process or shared by a fleet.
 *
 * @internal
 */
export interface AccessTokenSource {
  /** A token to use now. */
  get(): Promise<string>;
  /** What this process holds, without fetching: for health checks. */
  status(): WxAccessTokenStatus;
  /** A token other than `rejected`, which WeChat refused (40001/40014/42001). */
  replace(rejected: string): Promise<string>;
  /** Drops this process's copy; the next {@link get} looks again. */
  invalidate(): void;
}

/**
 * What both caches share: a local copy until its refresh time, one load however many callers ask
 * at once (single flight), and the rules for replacing a token WeChat rejected. Subclasses say only
 * how a token is loaded.
 *
 * @internal
 */
abstract class SingleFlightAccessToken implements AccessTokenSource {
  private cached: CachedAccessToken | undefined;
  private inFlight: Promise<string> | undefined;
  /** Bumped by {@link invalidate}: a load that started before must not refill the local copy. */
  private generation = 0;
  private lastLoadFailed = false;

  constructor(protected readonly now: () => number) {}

  /** A cached token still fresh, else the in-flight load, else a new load. */
  get(): Promise<string> {
    const fresh = this.freshToken();
    if (fresh !== undefined) return Promise.resolve(fresh);
    return (this.inFlight ??= this.startLoad(undefined));
  }

  /**
   * A replacement for `rejected`, which WeChat refused (40001/40014/42001). Concurrent callers
   * holding the same rejected token share one load; a caller whose token was already replaced
   * gets the replacement without another request.
   */
  async replace(rejected: string): Promise<string> {
    if (this.cached?.accessToken === rejected) this.cached = undefined;
    if (this.inFlight !== undefined) {
      const pending = await this.inFlight;
      if (pending !== rejected) return pending;
    }
    const fresh = this.freshToken();
    if (fresh !== undefined && fresh !== rejected) return fresh;
    // A load that was already under way may have cached the rejected token again.
    if (this.cached?.accessToken === rejected) this.cached = undefined;
    return (this.inFlight ??= this.startLoad(rejected));
  }

  /** Drops this process's copy; the next {@link get} loads again. */
  invalidate(): void {
    this.cached = undefined;
    this.generation += 1;
  }

  /**
   * Loads a token, one other than `rejected` when it is given, and hands it to {@link remember}
   * with `generation`.
   */
  protected abstract load(rejected: string | undefined, generation: number): Promise<string>;

  /** Keeps `accessToken` until `refreshAt`, unless {@link invalidate} ran since the load began. */
  protected remember(accessToken: string, refreshAt: number, generation: number): string {
    if (generation === this.generation) this.cached = { accessToken, refreshAt };
    return accessToken;
  }

  status(): WxAccessTokenStatus {
    const cached = this.cached;
    if (cached !== undefined && this.now() < cached.refreshAt) return 'fresh';
    if (this.lastLoadFailed) return 'failing';
    return cached === undefined ? 'absent' : 'due';
  }

  private freshToken(): string | undefined {
    const cached = this.cached;
    return cached !== undefined && this.now() < cached.refreshAt ? cached.accessToken : undefined;
  }

  private startLoad(rejected: string | undefined): Promise<string> {
    const loading = this.load(rejected, this.generation);
    const settled = (failed: boolean): void => {
      this.lastLoadFailed = failed;
      if (this.inFlight === loading) this.inFlight = undefined;
    };
    loading.then(
      () => settled(false),
      () => settled(true),
    );
    return loading;
  }
}

/**
 * The app's access token: cached until shortly before expiry, fetched by one request however many
 * callers ask at once (single flight), refreshed after WeChat rejects it.
 *
 * @internal
 */
export class AccessTokenCache extends SingleFlightAccessToken {
  private lastForcedRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly fetchToken: (forceRefresh: boolean) => Promise<WxFetchedAccessToken>,
    now: () => number,
  ) {
    super(now);
  }

  /** A rejected token is replaced by a forced refresh, unless one was made in the last 30 s. */
  protected load(rejected: string | undefined, generation: number): Promise<string> {
    const requestedAt = this.now();
    const force =
      rejected !== undefined && requestedAt - this.lastForcedRefreshAt >= FORCE_REFRESH_MIN_INTERVAL_MS;
    if (force) this.lastForcedRefreshAt = requestedAt;
    return this.fetchToken(force).then(({ accessToken, expiresInSeconds }) =>
      this.remember(accessToken, accessTokenRefreshAt(requestedAt, expiresInSeconds), generation),
    );
  }
}

/**
 * Settings of {@link SharedAccessTokenCache}.
 *
 * @internal
 */
export interface SharedAccessTokenSettings {
  readonly appId: string;
  readonly store: WxAccessTokenStore;
  /** The stable-token request itself. */
  readonly fetchToken: (forceRefresh: boolean) => Promise<WxFetchedAccessToken>;
  /** Wall clock in milliseconds, for expiry. */
  readonly now: () => number;
  /** How long one instance may hold the refresh lock: longer than a fetch may take. */
  readonly lockTtlMs: number;
  /** How long a load waits for another instance's refresh before it gives up. */
  readonly waitBudgetMs: number;
  /** Pause between two looks at the store while another instance refreshes. Default 25 ms. */
  readonly pollMs?: number;
}

const DEFAULT_POLL_MS = 25;

/**
 * The access token of a fleet: every instance uses the token published in a shared
 * {@link WxAccessTokenStore}, and a new one is fetched by whichever instance takes the store's
 * short refresh lock, once for the whole fleet; the others wait for it to appear.
 *
 * Within one process it behaves like {@link AccessTokenCache}: a local copy until its refresh
 * time, and one store look-up however many callers ask at once. A rejected token is replaced
 * by the fleet's newer one when there is one, and by a forced refresh only when the fleet still
 * holds the rejected token and no forced refresh happened in the last 30 s (WeChat's spacing).
 *
 * @internal
 */
export class SharedAccessTokenCache extends SingleFlightAccessToken {
  /** Forced refreshes this process made, for when the store lost the token that recorded one. */
  private lastForcedRefreshAt = Number.NEGATIVE_INFINITY;
  private readonly pollMs: number;

  constructor(private readonly settings: SharedAccessTokenSettings) {
    super(settings.now);
    this.pollMs = settings.pollMs ?? DEFAULT_POLL_MS;
  }

  protected async load(rejected: string | undefined, generation: number): Promise<string> {
    const { appId, store, lockTtlMs, waitBudgetMs } = this.settings;
    const giveUpAt = performance.now() + waitBudgetMs;
    // Ends: every round returns, throws, or pauses pollMs, and rounds stop at giveUpAt.
    for (;;) {
      const shared = this.usable(await store.readAccessToken(appId), rejected);
      if (shared !== undefined) return this.adopt(shared, generation);
      const lock = await store.lockAccessTokenRefresh(appId, lockTtlMs / 1000);
      if (lock !== undefined) {
        try {
          return await this.refreshUnderLock(rejected, generation);
        } finally {
          await lock.release().catch(() => undefined);
        }
      }
      // Another instance is refreshing: its token will appear in the store.
      if (performance.now() + this.pollMs > giveUpAt) {
        throw new WxApiTimeoutError('getAccessToken', waitBudgetMs);
      }
      await pause(this.pollMs);
    }
  }

  private async refreshUnderLock(rejected: string | undefined, generation: number): Promise<string> {
    const { appId, store, fetchToken, now } = this.settings;
    // Another instance may have published between our read and our lock.
    const current = await store.readAccessToken(appId);
    const published = this.usable(current, rejected);
    if (published !== undefined) return this.adopt(published, generation);
    const requestedAt = now();
    const fleetHoldsRejected =
      rejected !== undefined && (current === undefined || current.accessToken === rejected);
    const lastForcedAt = Math.max(current?.forcedAt ?? Number.NEGATIVE_INFINITY, this.lastForcedRefreshAt);
    const force = fleetHoldsRejected && requestedAt - lastForcedAt >= FORCE_REFRESH_MIN_INTERVAL_MS;
    if (force) this.lastForcedRefreshAt = requestedAt;
    const { accessToken, expiresInSeconds } = await fetchToken(force);
    const forcedAt = force ? requestedAt : current?.forcedAt;
    const token: WxSharedAccessToken = {
      accessToken,
      expiresAt: requestedAt + expiresInSeconds * 1000,
      refreshAt: accessTokenRefreshAt(requestedAt, expiresInSeconds),
      ...(forcedAt === undefined ? {} : { forcedAt }),
    };
    try {
      await store.writeAccessToken(appId, token);
    } catch {
      // The token is good even if the fleet could not be told: use it here; the others fetch the
      // same one (an unforced stable-token request returns the current token).
    }
    return this.adopt(token, generation);
  }

  /** `token` when it may be used now: present, not the rejected one, and before its refresh time. */
  private usable(
    token: WxSharedAccessToken | undefined,
    rejected: string | undefined,
  ): WxSharedAccessToken | undefined {
    return token !== undefined && token.accessToken !== rejected && this.settings.now() < token.refreshAt
      ? token
      : undefined;
  }

  private adopt(token: WxSharedAccessToken, generation: number): string {
    return this.remember(token.accessToken, token.refreshAt, generation);
  }
}
