import { WxOpenDataConfigError } from '../core/errors.js';
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
/** The longest time budget of one call: ten minutes. */
const MAX_TIMEOUT_MS = 10 * 60_000;

/**
 * The client settings that do not depend on the mini program, as the module shares them among
 * its clients.
 *
 * @internal
 */
export type WxApiClientSettings = Omit<WxApiClientOptions, 'appId' | 'appSecret'>;

/**
 * Checks the settings shared by every client, pushing one line per problem onto `problems` (the
 * module's resolver threads one list through every area). `name` maps an option to what the
 * caller calls it (the module says `apiTimeoutMs` for `timeoutMs`). Messages name the option,
 * never its value.
 *
 * @returns the settings with defaults applied, or `undefined` when a problem was pushed
 * @internal
 */
export function checkWxApiClientSettings(
  options: WxApiClientSettings,
  problems: string[],
  name: (option: keyof WxApiClientSettings) => string = (option) => option,
): Omit<ResolvedWxApiClientOptions, 'appId' | 'appSecret'> | undefined {
  const before = problems.length;
  const apiBaseUrl = normaliseBaseUrl(options.apiBaseUrl ?? WX_API_BASE_URL, name('apiBaseUrl'), problems);
  const timeoutMs = integerIn(name('timeoutMs'), options.timeoutMs ?? 5000, 1, MAX_TIMEOUT_MS, problems);
  const maxAttempts = integerIn(
    name('maxAttempts'),
    options.maxAttempts ?? 3,
    1,
    MAX_ATTEMPTS_LIMIT,
    problems,
  );
  const retryDelayMs = integerIn(name('retryDelayMs'), options.retryDelayMs ?? 100, 0, 60_000, problems);
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    problems.push(`${name('fetch')} must be a function`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    problems.push(`${name('now')} must be a function`);
  }
  if (options.onCall !== undefined && typeof options.onCall !== 'function') {
    problems.push(`${name('onCall')} must be a function`);
  }
  const now = typeof options.now === 'function' ? options.now : Date.now;
  let apiSecurity: ResolvedWxApiSecurity | undefined;
  if (options.apiSecurity !== undefined) {
    const checked = resolveWxApiSecurity(options.apiSecurity, name('apiSecurity'), now());
    problems.push(...checked.problems);
    apiSecurity = checked.security;
  }
  const accessTokenStore = checkAccessTokenStore(
    options.accessTokenStore,
    name('accessTokenStore'),
    problems,
  );
  if (problems.length > before) return undefined;
  return {
    apiBaseUrl,
    timeoutMs,
    maxAttempts,
    retryDelayMs,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now,
    accessTokenStore,
    apiSecurity,
    onCall: options.onCall,
  };
}

/**
 * Applies defaults and checks every option, reporting every problem at once. Messages name the
 * option, never its value, since the value may be the secret.
 *
 * @throws {@link WxOpenDataConfigError} listing every problem
 * @internal
 */
export function resolveWxApiClientOptions(options: WxApiClientOptions): ResolvedWxApiClientOptions {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    throw new WxOpenDataConfigError(['options must be an object'], 'WxApiClient options');
  }
  for (const option of ['appId', 'appSecret'] as const) {
    const value: unknown = options[option];
    if (typeof value !== 'string' || value.length === 0)
      problems.push(`${option} must be a non-empty string`);
  }
  const settings = checkWxApiClientSettings(options, problems);
  if (settings === undefined || problems.length > 0) {
    throw new WxOpenDataConfigError(problems, 'WxApiClient options');
  }
  return { appId: options.appId, appSecret: options.appSecret, ...settings };
}

function checkAccessTokenStore(
  store: unknown,
  name: string,
  problems: string[],
): WxAccessTokenStore | undefined {
  if (store === undefined) return undefined;
  const methods = ['readAccessToken', 'writeAccessToken', 'lockAccessTokenRefresh'] as const;
  if (
    typeof store !== 'object' ||
    store === null ||
    methods.some((method) => typeof (store as Record<string, unknown>)[method] !== 'function')
  ) {
    problems.push(`${name} must implement ${methods.join(', ')}`);
    return undefined;
  }
  return store as WxAccessTokenStore;
}

function integerIn(name: string, value: unknown, min: number, max: number, problems: string[]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}`);
    return min;
  }
  return value;
}

/** An http(s) origin with an optional path prefix, without the trailing slash. */
function normaliseBaseUrl(value: unknown, name: string, problems: string[]): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    problems.push(`${name} must be an http(s) URL, absolute, without query or fragment`);
    return WX_API_BASE_URL;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
