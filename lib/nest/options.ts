import type { ExecutionContext } from '@nestjs/common';
import type { WxSessionStore } from '../session/index.js';
import type { WxRedisOptions } from '../stores/redis/settings.js';
import type { WxApiSecurityOptions } from '../api/index.js';

/**
 * One mini program the module serves.
 *
 * @public
 */
export interface WxMiniProgramOptions {
  /** The mini program's AppID (`wx` + 16 hex characters). */
  appId: string;
  /** The AppSecret, for code2Session and access tokens. Never logged. */
  appSecret: string;
  /**
   * WeChat's API security mode ("API 安全") for this mini program, when it is on in the console:
   * keys, certificates and which calls to protect. Checked at boot. Default: off.
   */
  apiSecurity?: WxApiSecurityOptions;
}

/**
 * The HTTP request as the library reads it, on Express and Fastify alike.
 *
 * @public
 */
export interface WxHttpRequest {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

/**
 * The app's own user, as its authentication (passport, `@nestjs/jwt`) established it: whose
 * stored key verifies the call's open data.
 *
 * @public
 */
export interface WxResolvedIdentity {
  /** The user's openid within `appId`, as `WxSessionService.login` returned it. */
  openid: string;
  /** The mini program; default the first configured one. */
  appId?: string;
  /** The user's unionid, when your identity carries it: decrypted `unionId`s must then match it. */
  unionid?: string;
}

/**
 * Options of {@link WxOpenDataModule}.
 *
 * @public
 */
export interface WxOpenDataModuleOptions {
  /** The AppID of the one mini program served. Use `apps` for several. */
  appId?: string;
  /** The AppSecret of that mini program. */
  appSecret?: string;
  /** The API security mode of that mini program (see {@link WxMiniProgramOptions.apiSecurity}). */
  apiSecurity?: WxApiSecurityOptions;
  /** Several mini programs; each session remembers its own, and watermarks must name it. */
  apps?: WxMiniProgramOptions[];
  /** WeChat's server API. Default `https://api.weixin.qq.com`; tests point it at a fake. */
  apiBaseUrl?: string;
  /** Time budget of each WeChat server call, retries included, in milliseconds. Default 5000. */
  apiTimeoutMs?: number;
  /**
   * Where sessions and the fleet's shared state live. Default: a new {@link MemoryWxSessionStore}
   * (one instance only). A store you pass is yours: the module connects it at start-up but never
   * closes it. Give `redis` instead to have the module build, connect and close the store.
   */
  sessionStore?: WxSessionStore;
  /**
   * Builds a `RedisWxSessionStore` from these options (a `url`, node-redis options, or your
   * Keyv or client; typed without the optional peers, see {@link WxRedisOptions}), connects it at start-up (a Redis that is down then only delays start-up by
   * the connect timeout: requests answer 503 until it is back) and closes it at shutdown. Not
   * together with `sessionStore`.
   */
  redis?: WxRedisOptions;
  /**
   * Accept each encrypted payload once: a second submission of the same `encryptedData` within
   * its freshness window (`watermarkMaxAgeSeconds` + `clockToleranceSeconds` + 1 s; with the age
   * check off, the session TTL), on any instance sharing the store, gets the uniform 401. The
   * replay cache keeps a SHA-256 of the ciphertext only. Default `true`.
   */
  replayProtection?: boolean;
  /**
   * Key-dependent failures (signature, decryption, watermark, identity, DTO of decrypted data)
   * a session may have before it is revoked and its user must log in again: a padding-oracle
   * search needs about 128 queries per byte. Counted across all instances sharing the store, for
   * the session's lifetime, and not reset by a success. `false` disables. Default 5.
   */
  maxKeyFailures?: number | false;
  /**
   * How long, in milliseconds from the start of the key-dependent work, every key-dependent
   * failure waits before its answer goes out, so bad padding, a wrong watermark, a failed DTO and
   * a replay answer at the same moment whatever each took. It must exceed the slowest such work,
   * store round trips included, with room for a stalled event loop: raise it when the session
   * store's p99.9 latency comes near it. Default 10; at most 1,000.
   */
  keyFailureFloorMs?: number;
  /** How long a session lives, in seconds. Default 86,400 (one day). */
  sessionTtlSeconds?: number;
  /**
   * How long, in seconds, a user's previous session key still decrypts after a new login rotated
   * it, so data the mini program fetched just before calling `wx.login` again is not lost.
   * Default 30; 0 disables.
   */
  keyRotationGraceSeconds?: number;
  /**
   * After a key-dependent failure, ask WeChat (checkSessionKey) whether the session's key is still
   * valid, and log whether the key was stale or the payload forged. The HTTP answer is the same
   * either way. Costs one WeChat call per failure. Default `false`.
   */
  checkSessionKeyOnFailure?: boolean;
  /** How old decrypted data may be, in seconds; `false` disables the clock checks. Default 300. */
  watermarkMaxAgeSeconds?: number | false;
  /** How far ahead of the server clock a watermark may be, in seconds. Default 60. */
  clockToleranceSeconds?: number;
  /**
   * Counters and histograms through OpenTelemetry's metrics API (`@opentelemetry/api`, an
   * optional peer): verifications by reason code, logins by errcode, WeChat call latency by
   * operation, replay refusals, key-budget refusals, store latency and outages. The app's own
   * meter provider (its SDK and exporter) receives them; without one, OpenTelemetry drops them.
   * No attribute carries a secret, token, openid or unionid. Default: on when `@opentelemetry/api`
   * is installed; `true` requires it (a boot error names the package), `false` turns it off.
   */
  metrics?: boolean;
  /**
   * Reads the session token from a request. Default: the `Authorization: Bearer <token>` header.
   */
  getSessionToken?: (request: WxHttpRequest) => string | undefined;
  /**
   * Bring your own identity: instead of the library's session token, the guard asks this who the
   * caller is (e.g. `req.user` set by passport-jwt) and verifies the call's open data with that
   * user's stored key (stored by `WxSessionService.login(code, { issueToken: false })`), with the
   * same replay protection, key-attempt budget and rotation grace as token sessions. Returning
   * `undefined` (your auth guard has not run, or found nobody) is a 401 `WX_SESSION_REQUIRED`.
   * Your auth guard must run before `@WxVerified()`'s: see the README, "Bring your own identity".
   */
  resolveIdentity?: (
    context: ExecutionContext,
  ) => WxResolvedIdentity | undefined | Promise<WxResolvedIdentity | undefined>;
}

/**
 * The default token reader: `Authorization: Bearer <token>`, scheme case-insensitive.
 *
 * @public
 */
export function readBearerToken(request: WxHttpRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match?.[1];
}
