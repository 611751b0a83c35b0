import type { WxAccessTokenStore } from './access-token-store.js';
import type { WxFetch } from './http-exchange.js';
import {
  resolveWxApiSecurity,
  type ResolvedWxApiSecurity,
  type WxApiSecurityOptions,
} from './security/api-security-options.js';

/**
 * Settings of {@link WxApiClient}.
 *
 * @public
 */
export interface WxApiClientOptions {
  /** The mini program's AppID. */
  appId: string;
  /** The mini program's AppSecret. Sent to WeChat only, never put in an error or a log. */
  appSecret: string;
  /** WeChat's API origin; point it at a `FakeWeChatServer` in tests. Default `https://api.weixin.qq.com`. */
  apiBaseUrl?: string;
  /**
   * Time budget of each public call in milliseconds, retries, backoff pauses, the access-token
   * fetch and the retry after a token refresh included. Default 5000.
   */
  timeoutMs?: number;
  /** Attempts per request when WeChat is busy (`errcode` -1) or unreachable, 1 to 10. Default 3. */
  maxAttempts?: number;
  /** First backoff step in milliseconds; each retry doubles it (up to 8×), with jitter. Default 100. */
  retryDelayMs?: number;
  /** The fetch to use. Default Node's global `fetch`. */
  fetch?: WxFetch;
  /** Wall clock in milliseconds for access-token expiry. Default `Date.now`. */
  now?: () => number;
  /**
   * Where the instances of a fleet share the access token, so that all use one token and one of
   * them refreshes it for all (`WxSessionStore` is one; the Nest module passes its session store).
   * Default: none, the token is cached in this process only.
   */
  accessTokenStore?: WxAccessTokenStore;
  /**
   * WeChat's API security mode ("API 安全"), when it is turned on in the console: the calls that
   * support it are encrypted and signed, and their answers verified and decrypted. Default: off.
   */
  apiSecurity?: WxApiSecurityOptions;
  /**
   * Told of every WeChat call when it ends (retries included), for metrics: the operation, how
   * long it took and its outcome (`'ok'`, the errcode, or `timeout` / the unavailability reason).
   * Never given a secret, a code or an openid. Default: nobody is told.
   */
  onCall?: WxApiCallObserver;
}

/**
 * Receives the end of each WeChat call; see {@link WxApiClientOptions.onCall}.
 *
 * @public
 */
export type WxApiCallObserver = (operation: string, durationMs: number, outcome: string) => void;

/**
 * {@link WxApiClientOptions} with defaults applied and values checked.
 *
 * @internal
 */
export interface ResolvedWxApiClientOptions {
  readonly appId: string;
  readonly appSecret: string;
  readonly apiBaseUrl: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
  readonly fetch: WxFetch;
  readonly now: () => number;
  readonly accessTokenStore: WxAccessTokenStore | undefined;
  readonly apiSecurity: ResolvedWxApiSecurity | undefined;
  readonly onCall: WxApiCallObserver | undefined;
}

/** WeChat's production API origin. @public */
export const WX_API_BASE_URL = 'https://api.weixin.qq.com';

const MAX_ATTEMPTS_LIMIT = 10;

/**
 * Applies defaults and checks every option. Messages name the option, never its value, since the
 * value may be the secret.
 *
 * @throws TypeError or RangeError naming the bad option
 * @internal
 */
export function resolveWxApiClientOptions(options: WxApiClientOptions): ResolvedWxApiClientOptions {
  const now = options.now ?? Date.now;
  return {
    appId: requireNonEmptyString('appId', options.appId),
    appSecret: requireNonEmptyString('appSecret', options.appSecret),
    apiBaseUrl: normaliseBaseUrl(options.apiBaseUrl ?? WX_API_BASE_URL),
    timeoutMs: requireInteger('timeoutMs', options.timeoutMs ?? 5000, 1, 10 * 60_000),
    maxAttempts: requireInteger('maxAttempts', options.maxAttempts ?? 3, 1, MAX_ATTEMPTS_LIMIT),
    retryDelayMs: requireInteger('retryDelayMs', options.retryDelayMs ?? 100, 0, 60_000),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now,
    accessTokenStore: checkAccessTokenStore(options.accessTokenStore),
    apiSecurity: checkApiSecurity(options.apiSecurity, now),
    onCall: checkFunction('onCall', options.onCall),
  };
}

function checkApiSecurity(value: unknown, now: () => number): ResolvedWxApiSecurity | undefined {
  if (value === undefined) return undefined;
  const { security, problems } = resolveWxApiSecurity(value, 'apiSecurity', now());
  if (security === undefined) throw new TypeError(`WxApiClient: ${problems.join('; ')}`);
  return security;
}

function checkAccessTokenStore(store: unknown): WxAccessTokenStore | undefined {
  if (store === undefined) return undefined;
  const methods = ['readAccessToken', 'writeAccessToken', 'lockAccessTokenRefresh'] as const;
  if (
    typeof store !== 'object' ||
    store === null ||
    methods.some((name) => typeof (store as Record<string, unknown>)[name] !== 'function')
  ) {
    throw new TypeError(`WxApiClient: accessTokenStore must implement ${methods.join(', ')}`);
  }
  return store as WxAccessTokenStore;
}

function checkFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`WxApiClient: ${name} must be a function`);
  }
  return value;
}

function requireNonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`WxApiClient: ${name} must be a non-empty string`);
  }
  return value;
}

function requireInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`WxApiClient: ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** An http(s) origin with an optional path prefix, without the trailing slash. */
function normaliseBaseUrl(value: unknown): string {
  const text = requireNonEmptyString('apiBaseUrl', value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError('WxApiClient: apiBaseUrl must be an absolute http(s) URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new TypeError('WxApiClient: apiBaseUrl must be an http(s) URL without query or fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
