import { checkWxApiClientSettings } from '../api/options.js';
import {
  MemoryWxSessionStore,
  RedisWxSessionStore,
  type RedisWxSessionStoreOptions,
} from '../stores/index.js';
import { checkRedisStoreOptions } from '../stores/redis/options.js';
import type { WxRedisOptions } from '../stores/redis/settings.js';
import { WxSessionStore } from '../session/index.js';
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_WATERMARK_MAX_AGE_SECONDS,
  WxOpenDataConfigError,
} from '../core/index.js';
import { missingPackageIn, missingPeerProblem } from '../core/peers.js';
import { resolveWxApiSecurity } from '../api/security/api-security-options.js';
import {
  readBearerToken,
  type WxHttpRequest,
  type WxMiniProgramOptions,
  type WxOpenDataModuleOptions,
  type WxResolvedIdentity,
} from './options.js';
import type { ExecutionContext } from '@nestjs/common';
import { KEY_FAILURE_FLOOR_MS } from './answer-floor.js';

/** Injection token of the validated, defaulted options. */
export const WX_OPEN_DATA_CONFIG = Symbol('WX_OPEN_DATA_CONFIG');

/**
 * {@link WxOpenDataModuleOptions} after validation, with every default applied.
 *
 * @public
 */
export interface WxOpenDataConfig {
  readonly apps: ReadonlyMap<string, Readonly<WxMiniProgramOptions>>;
  /** The app a login uses when none is named: the first one configured. */
  readonly defaultAppId: string;
  readonly apiBaseUrl: string;
  readonly apiTimeoutMs: number;
  readonly sessionStore: WxSessionStore;
  /** Whether the module built `sessionStore` (from `redis`), and so closes it at shutdown. */
  readonly ownsSessionStore: boolean;
  readonly sessionTtlSeconds: number;
  readonly keyRotationGraceSeconds: number;
  readonly checkSessionKeyOnFailure: boolean;
  readonly watermarkMaxAgeSeconds: number | false;
  readonly clockToleranceSeconds: number;
  readonly replayProtection: boolean;
  /** How long an accepted payload's fingerprint is kept: as long as it could pass the watermark check. */
  readonly replayWindowSeconds: number;
  /** Key-dependent failures that revoke a session; `false`: never. */
  readonly maxKeyFailures: number | false;
  /** Key-dependent failures answer no sooner than this after the key work began. */
  readonly keyFailureFloorMs: number;
  readonly getSessionToken: (request: WxHttpRequest) => string | undefined;
  readonly resolveIdentity:
    | ((
        context: ExecutionContext,
      ) => WxResolvedIdentity | undefined | Promise<WxResolvedIdentity | undefined>)
    | undefined;
  /** `'auto'`: metrics when `@opentelemetry/api` is installed. */
  readonly metrics: boolean | 'auto';
}

export { WxOpenDataConfigError };

const APP_ID = /^wx[0-9a-zA-Z]{16}$/;

/**
 * The optional peer packages an option needs, checked at boot so a missing one stops the app with
 * the command to run instead of failing later. Add a row when an option needs another peer.
 */
const OPTIONAL_PEERS: readonly {
  readonly option: string;
  readonly needed: (options: WxOpenDataModuleOptions) => boolean;
  readonly packages: readonly string[];
}[] = [
  {
    option: 'redis',
    // With `keyv` or `client` the app brought its own connection, and so the packages.
    needed: (options) => options.redis?.url !== undefined || options.redis?.redisOptions !== undefined,
    packages: ['keyv', '@keyv/redis'],
  },
  {
    option: 'metrics: true',
    needed: (options) => options.metrics === true,
    packages: ['@opentelemetry/api'],
  },
];

/**
 * The one resolver of the module's options, run before any provider is built and any connection
 * opened: the optional peers the options need (loaded, or reported with the command to install
 * them), then every area's checks ({@link resolveWxOpenDataConfig}), all into one problem list and
 * one {@link WxOpenDataConfigError}.
 *
 * @throws {@link WxOpenDataConfigError}
 * @internal
 */
export async function resolveWxOpenDataModuleConfig(
  options: WxOpenDataModuleOptions,
  load: (name: string) => Promise<unknown> = (name) => import(name),
): Promise<WxOpenDataConfig> {
  const problems: string[] = [];
  for (const peer of OPTIONAL_PEERS) {
    if (typeof options !== 'object' || options === null || !peer.needed(options)) continue;
    const missing = new Set<string>();
    for (const name of peer.packages) {
      try {
        await load(name);
      } catch (error) {
        // Only a "not found" naming one of the peers is a missing peer: a peer that is there but
        // fails to load (one of its own dependencies missing, say) is reported as such.
        const absent = missingPackageIn(error, peer.packages);
        if (absent !== undefined) missing.add(absent);
        else
          problems.push(`${peer.option}: ${name} is installed but does not load (${(error as Error).name})`);
      }
    }
    if (missing.size > 0) problems.push(missingPeerProblem(peer.option, [...missing], peer.packages));
  }
  return resolveWxOpenDataConfig(options, problems);
}

/**
 * Validates options and applies defaults, reporting every problem at once: each area (the mini
 * programs, the WeChat client's settings, the module's own options, the Redis store's options)
 * pushes onto one list, and the store is built only when the list is empty.
 *
 * @param problems - problems already found (the optional peers), reported together
 * @throws {@link WxOpenDataConfigError}
 * @internal
 */
export function resolveWxOpenDataConfig(
  options: WxOpenDataModuleOptions,
  problems: string[] = [],
): WxOpenDataConfig {
  if (typeof options !== 'object' || options === null) {
    throw new WxOpenDataConfigError([...problems, 'options must be an object']);
  }
  const apps = collectApps(options, problems);
  // The module's clients share these; checked by the client's own rules, under the module's names.
  const api = checkWxApiClientSettings(
    { apiBaseUrl: options.apiBaseUrl, timeoutMs: options.apiTimeoutMs },
    problems,
    (option) => (option === 'timeoutMs' ? 'apiTimeoutMs' : option),
  );
  const sessionTtlSeconds = options.sessionTtlSeconds ?? 86_400;
  if (!isPositiveInteger(sessionTtlSeconds)) problems.push('sessionTtlSeconds must be a positive integer');
  const keyRotationGraceSeconds = options.keyRotationGraceSeconds ?? 30;
  if (!isNonNegativeInteger(keyRotationGraceSeconds)) {
    problems.push('keyRotationGraceSeconds must be a non-negative integer');
  }
  const checkSessionKeyOnFailure = options.checkSessionKeyOnFailure ?? false;
  if (typeof checkSessionKeyOnFailure !== 'boolean')
    problems.push('checkSessionKeyOnFailure must be a boolean');
  const watermarkMaxAgeSeconds = options.watermarkMaxAgeSeconds ?? DEFAULT_WATERMARK_MAX_AGE_SECONDS;
  if (watermarkMaxAgeSeconds !== false && !isNonNegativeInteger(watermarkMaxAgeSeconds)) {
    problems.push('watermarkMaxAgeSeconds must be a non-negative integer or false');
  }
  const clockToleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!isNonNegativeInteger(clockToleranceSeconds)) {
    problems.push('clockToleranceSeconds must be a non-negative integer');
  }
  if (options.sessionStore !== undefined && !(options.sessionStore instanceof WxSessionStore)) {
    problems.push('sessionStore must extend WxSessionStore');
  }
  if (options.sessionStore !== undefined && options.redis !== undefined) {
    problems.push('give sessionStore or redis, not both');
  }
  if (options.redis !== undefined) checkRedisOptions(options.redis, problems);
  const replayProtection = options.replayProtection ?? true;
  if (typeof replayProtection !== 'boolean') problems.push('replayProtection must be a boolean');
  const maxKeyFailures = options.maxKeyFailures ?? 5;
  if (maxKeyFailures !== false && !isPositiveInteger(maxKeyFailures)) {
    problems.push('maxKeyFailures must be a positive integer or false');
  }
  const keyFailureFloorMs = options.keyFailureFloorMs ?? KEY_FAILURE_FLOOR_MS;
  if (
    typeof keyFailureFloorMs !== 'number' ||
    !Number.isFinite(keyFailureFloorMs) ||
    keyFailureFloorMs <= 0 ||
    keyFailureFloorMs > 1000
  ) {
    problems.push('keyFailureFloorMs must be a number of milliseconds above 0 and at most 1000');
  }
  if (options.getSessionToken !== undefined && typeof options.getSessionToken !== 'function') {
    problems.push('getSessionToken must be a function');
  }
  if (options.resolveIdentity !== undefined && typeof options.resolveIdentity !== 'function') {
    problems.push('resolveIdentity must be a function of the ExecutionContext');
  }
  const metrics = options.metrics ?? 'auto';
  if (metrics !== 'auto' && typeof metrics !== 'boolean') problems.push('metrics must be a boolean');
  const [first] = apps.keys();
  if (problems.length > 0 || first === undefined || api === undefined) {
    throw new WxOpenDataConfigError(problems);
  }
  // Built last, once everything is valid: building it opens a connection.
  // `redis` is typed without the optional peers (WxRedisOptions); its shapes were checked above.
  const redisStore =
    options.redis === undefined
      ? undefined
      : new RedisWxSessionStore(options.redis as RedisWxSessionStoreOptions);
  return Object.freeze({
    apps,
    defaultAppId: first,
    apiBaseUrl: api.apiBaseUrl,
    apiTimeoutMs: api.timeoutMs,
    sessionStore: redisStore ?? options.sessionStore ?? new MemoryWxSessionStore(),
    ownsSessionStore: redisStore !== undefined,
    sessionTtlSeconds,
    keyRotationGraceSeconds,
    checkSessionKeyOnFailure,
    watermarkMaxAgeSeconds,
    clockToleranceSeconds,
    replayProtection,
    replayWindowSeconds:
      watermarkMaxAgeSeconds === false
        ? sessionTtlSeconds
        : // A watermark passes while floor(now / 1000) - timestamp <= maxAge, and its timestamp may
          // be up to the tolerance ahead of the clock at the first submission.
          watermarkMaxAgeSeconds + clockToleranceSeconds + 1,
    maxKeyFailures,
    keyFailureFloorMs,
    getSessionToken: options.getSessionToken ?? readBearerToken,
    resolveIdentity: options.resolveIdentity,
    metrics,
  });
}

/** The Redis store's own checks, without building it (building opens a connection). */
function checkRedisOptions(options: WxRedisOptions, problems: string[]): void {
  if (typeof options !== 'object' || options === null) {
    problems.push('redis must be RedisWxSessionStore options ({ url } and the like)');
    return;
  }
  // The store's own checks: each names the option, never its value (a URL may carry a password).
  const found: string[] = [];
  checkRedisStoreOptions(options as RedisWxSessionStoreOptions, found);
  for (const problem of found) problems.push(`redis: ${problem}`);
}

function collectApps(
  options: WxOpenDataModuleOptions,
  problems: string[],
): Map<string, WxMiniProgramOptions> {
  const listed: WxMiniProgramOptions[] = [];
  if (options.appId !== undefined || options.appSecret !== undefined) {
    listed.push({
      appId: options.appId as string,
      appSecret: options.appSecret as string,
      ...(options.apiSecurity === undefined ? {} : { apiSecurity: options.apiSecurity }),
    });
  }
  if (options.apiSecurity !== undefined && options.appId === undefined) {
    problems.push('apiSecurity goes with appId; with apps, give each entry its own apiSecurity');
  }
  if (options.apps !== undefined) {
    if (Array.isArray(options.apps)) listed.push(...options.apps);
    else problems.push('apps must be an array of { appId, appSecret }');
  }
  if (listed.length === 0) problems.push('appId is required (or apps: [{ appId, appSecret }])');
  const apps = new Map<string, WxMiniProgramOptions>();
  listed.forEach((app, index) => {
    const where = listed.length === 1 ? 'appId' : `apps[${index}].appId`;
    // Every field is checked, so a wrong AppID, a missing secret and bad keys are reported together.
    const appIdValid = typeof app?.appId === 'string' && APP_ID.test(app.appId);
    const secretValid = typeof app?.appSecret === 'string' && app.appSecret !== '';
    if (!appIdValid) {
      problems.push(`${where} must be a mini program AppID ("wx" followed by 16 letters or digits)`);
    } else if (apps.has(app.appId)) {
      problems.push(`${where} ${app.appId} is configured twice`);
    }
    if (!secretValid) {
      problems.push(
        `${where === 'appId' ? 'appSecret' : `apps[${index}].appSecret`} must be a non-empty string`,
      );
    }
    let securityValid = true;
    if (app?.apiSecurity !== undefined) {
      const prefix = where === 'appId' ? 'apiSecurity' : `apps[${index}].apiSecurity`;
      const checked = resolveWxApiSecurity(app.apiSecurity, prefix, Date.now()).problems;
      problems.push(...checked);
      securityValid = checked.length === 0;
    }
    if (appIdValid && secretValid && securityValid && !apps.has(app.appId)) {
      const { appId, appSecret, apiSecurity } = app;
      apps.set(
        appId,
        Object.freeze(apiSecurity === undefined ? { appId, appSecret } : { appId, appSecret, apiSecurity }),
      );
    }
  });
  return apps;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
