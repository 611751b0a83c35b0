import type { WxSessionStore } from '../session/index.js';

/**
 * One mini program the module serves.
 *
 * @public
 */
export interface WxMiniProgramOptions {
  /** The mini program's AppID (`wx` + 16 hex characters). */
  appId: string;
  /** The AppSecret; needed for login (code2Session). Never logged. */
  appSecret?: string;
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
 * Options of {@link WxOpenDataModule}.
 *
 * @public
 */
export interface WxOpenDataModuleOptions {
  /** The AppID of the one mini program served. Use `apps` for several. */
  appId?: string;
  /** The AppSecret of that mini program. */
  appSecret?: string;
  /** Several mini programs; each session remembers its own, and watermarks must name it. */
  apps?: WxMiniProgramOptions[];
  /** WeChat's server API. Default `https://api.weixin.qq.com`; tests point it at a fake. */
  apiBaseUrl?: string;
  /** Where sessions live. Default: a new {@link MemoryWxSessionStore}. */
  sessionStore?: WxSessionStore;
  /** How long a session lives, in seconds. Default 86,400 (one day). */
  sessionTtlSeconds?: number;
  /** How old decrypted data may be, in seconds; `false` disables the clock checks. Default 300. */
  watermarkMaxAgeSeconds?: number | false;
  /** How far ahead of the server clock a watermark may be, in seconds. Default 60. */
  clockToleranceSeconds?: number;
  /**
   * Reads the session token from a request. Default: the `Authorization: Bearer <token>` header.
   */
  getSessionToken?: (request: WxHttpRequest) => string | undefined;
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
