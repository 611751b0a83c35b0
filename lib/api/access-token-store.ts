/**
 * An access token as the instances of a fleet share it. Secret: it lives in the store's values
 * only, never in a key name, a log line or an error.
 *
 * @public
 */
export interface WxSharedAccessToken {
  readonly accessToken: string;
  /** When WeChat stops accepting it, in milliseconds since the epoch. */
  readonly expiresAt: number;
  /**
   * When the fleet replaces it, in milliseconds since the epoch: before expiry by 5 minutes or
   * 10% of its lifetime, whichever is smaller.
   */
  readonly refreshAt: number;
  /**
   * When it was fetched with `force_refresh`, if it was, in milliseconds since the epoch. WeChat
   * wants forced refreshes 30 s apart, fleet-wide, so the time travels with the token.
   */
  readonly forcedAt?: number;
}

/**
 * A refresh lock held by one instance.
 *
 * @public
 */
export interface WxAccessTokenLock {
  /** Gives the lock up if this holder still has it; never throws. */
  release(): Promise<void>;
}

/**
 * Where the instances of a fleet share each mini program's access token, so that they all use one
 * token and only one of them fetches a new one (see {@link WxApiClientOptions.accessTokenStore}).
 * `WxSessionStore` implements it; any other shared store can.
 *
 * Errors thrown by these methods reach the caller of the {@link WxApiClient} call as they are:
 * a fleet never falls back to tokens of its own, since a forced refresh by one instance would
 * invalidate the token every other instance holds.
 *
 * @public
 */
export interface WxAccessTokenStore {
  /** The fleet's current token for `appId`, or `undefined`. */
  readAccessToken(appId: string): Promise<WxSharedAccessToken | undefined>;

  /** Publishes a new token for `appId`, replacing the previous one; it may expire at `expiresAt`. */
  writeAccessToken(appId: string, token: WxSharedAccessToken): Promise<void>;

  /**
   * Takes the fleet-wide refresh lock of `appId` for at most `ttlSeconds` (it lapses by itself if
   * its holder dies), or `undefined` when another holder has it.
   */
  lockAccessTokenRefresh(appId: string, ttlSeconds: number): Promise<WxAccessTokenLock | undefined>;
}
