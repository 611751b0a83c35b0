import {
  MemoryWxSessionStore,
  RedisWxSessionStore,
  type RedisWxSessionStoreOptions,
} from '../stores/index.js';
import { WxSessionStore } from '../session/index.js';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, DEFAULT_WATERMARK_MAX_AGE_SECONDS } from '../core/index.js';
import {
  readBearerToken,
  type WxHttpRequest,
  type WxMiniProgramOptions,
  type WxOpenDataModuleOptions,
  type WxResolvedIdentity,
} from './options.js';
import type { ExecutionContext } from '@nestjs/common';

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
  readonly getSessionToken: (request: WxHttpRequest) => string | undefined;
  readonly resolveIdentity:
    | ((
        context: ExecutionContext,
      ) => WxResolvedIdentity | undefined | Promise<WxResolvedIdentity | undefined>)
    | undefined;
}

/**
 * Thrown at boot when the options are wrong, so a misconfiguration never becomes a 500 later.
 *
 * @public
 */
export class WxOpenDataConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`Invalid WxOpenDataModule options:\n- ${problems.join('\n- ')}`);
    this.name = 'WxOpenDataConfigError';
  }
}

const APP_ID = /^wx[0-9a-zA-Z]{16}$/;

/**
 * Validates options and applies defaults, reporting every problem at once.
 *
 * @throws {@link WxOpenDataConfigError}
 * @public
 */
export function resolveWxOpenDataConfig(options: WxOpenDataModuleOptions): WxOpenDataConfig {
  const problems: string[] = [];
  const apps = collectApps(options, problems);
  const apiBaseUrl = options.apiBaseUrl ?? 'https://api.weixin.qq.com';
  if (!isHttpUrl(apiBaseUrl)) problems.push('apiBaseUrl must be an http(s) URL');
  const apiTimeoutMs = options.apiTimeoutMs ?? 5000;
  if (!isPositiveInteger(apiTimeoutMs)) problems.push('apiTimeoutMs must be a positive integer');
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
  if (options.redis !== undefined && (typeof options.redis !== 'object' || options.redis === null)) {
    problems.push('redis must be RedisWxSessionStore options ({ url } and the like)');
  }
  const replayProtection = options.replayProtection ?? true;
  if (typeof replayProtection !== 'boolean') problems.push('replayProtection must be a boolean');
  const maxKeyFailures = options.maxKeyFailures ?? 5;
  if (maxKeyFailures !== false && !isPositiveInteger(maxKeyFailures)) {
    problems.push('maxKeyFailures must be a positive integer or false');
  }
  if (options.getSessionToken !== undefined && typeof options.getSessionToken !== 'function') {
    problems.push('getSessionToken must be a function');
  }
  if (options.resolveIdentity !== undefined && typeof options.resolveIdentity !== 'function') {
    problems.push('resolveIdentity must be a function of the ExecutionContext');
  }
  const [first] = apps.keys();
  if (problems.length > 0 || first === undefined) throw new WxOpenDataConfigError(problems);
  // Built last, once everything else is valid: building it opens a connection.
  const redisStore = options.redis === undefined ? undefined : buildRedisStore(options.redis);
  return Object.freeze({
    apps,
    defaultAppId: first,
    apiBaseUrl: apiBaseUrl.replace(/\/+$/, ''),
    apiTimeoutMs,
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
    getSessionToken: options.getSessionToken ?? readBearerToken,
    resolveIdentity: options.resolveIdentity,
  });
}

function buildRedisStore(options: RedisWxSessionStoreOptions): RedisWxSessionStore {
  try {
    return new RedisWxSessionStore(options);
  } catch (error) {
    // The store's option errors name the option, never its value (a URL may carry a password).
    throw new WxOpenDataConfigError([`redis: ${(error as Error).message}`]);
  }
}

function collectApps(
  options: WxOpenDataModuleOptions,
  problems: string[],
): Map<string, WxMiniProgramOptions> {
  const listed: WxMiniProgramOptions[] = [];
  if (options.appId !== undefined || options.appSecret !== undefined) {
    listed.push({ appId: options.appId as string, appSecret: options.appSecret as string });
  }
  if (options.apps !== undefined) {
    if (Array.isArray(options.apps)) listed.push(...options.apps);
    else problems.push('apps must be an array of { appId, appSecret }');
  }
  if (listed.length === 0) problems.push('appId is required (or apps: [{ appId, appSecret }])');
  const apps = new Map<string, WxMiniProgramOptions>();
  listed.forEach((app, index) => {
    const where = listed.length === 1 ? 'appId' : `apps[${index}].appId`;
    if (typeof app?.appId !== 'string' || !APP_ID.test(app.appId)) {
      problems.push(`${where} must be a mini program AppID ("wx" followed by 16 letters or digits)`);
    } else if (apps.has(app.appId)) {
      problems.push(`${where} ${app.appId} is configured twice`);
    } else if (typeof app.appSecret !== 'string' || app.appSecret === '') {
      problems.push(
        `${where === 'appId' ? 'appSecret' : `apps[${index}].appSecret`} must be a non-empty string`,
      );
    } else {
      apps.set(app.appId, Object.freeze({ appId: app.appId, appSecret: app.appSecret }));
    }
  });
  return apps;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
