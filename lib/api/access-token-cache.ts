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

interface CachedAccessToken {
  readonly accessToken: string;
  readonly refreshAt: number;
}

/**
 * The app's access token: cached until shortly before expiry, fetched by one request however many
 * callers ask at once (single flight), refreshed after WeChat rejects it.
 *
 * @internal
 */
export class AccessTokenCache {
  private cached: CachedAccessToken | undefined;
  private inFlight: Promise<string> | undefined;
  /** Bumped by {@link invalidate}: a fetch that started before must not refill the cache. */
  private generation = 0;
  private lastForcedRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly fetchToken: (forceRefresh: boolean) => Promise<WxFetchedAccessToken>,
    private readonly now: () => number,
  ) {}

  /** A cached token still fresh, else the in-flight fetch, else a new fetch. */
  get(): Promise<string> {
    const fresh = this.freshToken();
    if (fresh !== undefined) return Promise.resolve(fresh);
    return (this.inFlight ??= this.load(false));
  }

  /**
   * A replacement for `rejected`, which WeChat refused (40001/40014/42001). Concurrent callers
   * holding the same rejected token share one refresh; a caller whose token was already replaced
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
    // An unforced fetch that was already under way may have cached the rejected token again.
    if (this.cached?.accessToken === rejected) this.cached = undefined;
    const force = this.now() - this.lastForcedRefreshAt >= FORCE_REFRESH_MIN_INTERVAL_MS;
    return (this.inFlight ??= this.load(force));
  }

  /** Drops the cached token; the next {@link get} fetches one. */
  invalidate(): void {
    this.cached = undefined;
    this.generation += 1;
  }

  private freshToken(): string | undefined {
    const cached = this.cached;
    return cached !== undefined && this.now() < cached.refreshAt ? cached.accessToken : undefined;
  }

  private load(forceRefresh: boolean): Promise<string> {
    const generation = this.generation;
    const requestedAt = this.now();
    if (forceRefresh) this.lastForcedRefreshAt = requestedAt;
    const loading = this.fetchToken(forceRefresh).then(({ accessToken, expiresInSeconds }) => {
      if (generation === this.generation) {
        this.cached = { accessToken, refreshAt: accessTokenRefreshAt(requestedAt, expiresInSeconds) };
      }
      return accessToken;
    });
    const settled = (): void => {
      if (this.inFlight === loading) this.inFlight = undefined;
    };
    loading.then(settled, settled);
    return loading;
  }
}
