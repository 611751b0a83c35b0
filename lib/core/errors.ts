import { missingPeerProblem } from './peers.js';

/**
 * Stable, machine-readable codes carried by every {@link WxOpenDataError}.
 *
 * @public
 */
export type WxOpenDataErrorCode =
  | 'MALFORMED_PAYLOAD'
  | 'DECRYPT_FAILED'
  | 'SESSION_KEY_INVALID'
  | 'WATERMARK_INVALID'
  | 'WATERMARK_APPID_MISMATCH'
  | 'WATERMARK_EXPIRED'
  | 'WATERMARK_FROM_FUTURE'
  | 'SIGNATURE_INVALID'
  | 'IDENTITY_MISMATCH'
  | 'PAYLOAD_INVALID'
  | 'SESSION_NOT_FOUND'
  | 'PAYLOAD_REPLAYED'
  | 'SESSION_STORE_UNAVAILABLE'
  | 'KEY_ATTEMPTS_BUSY'
  | 'WX_API_ERROR'
  | 'WX_API_UNAVAILABLE'
  | 'WX_API_TIMEOUT'
  | 'WX_API_ANSWER_REJECTED'
  | 'WX_API_SECURITY_REFUSED'
  | 'WX_API_LIMIT_EXCEEDED'
  | 'PROVENANCE_UNCONFIRMED'
  | 'CONFIG_INVALID'
  | 'CONTEXT_UNSUPPORTED';

/**
 * Root of every error this library throws. Messages never contain a session key, an iv,
 * ciphertext or plaintext, so an error can be logged as it is.
 *
 * @public
 */
export abstract class WxOpenDataError extends Error {
  /** Stable code to branch on; the message is for people and may change. */
  abstract readonly code: WxOpenDataErrorCode;

  /**
   * Whether the failure could only be detected with the session key. Such failures must look
   * identical from outside (one HTTP answer), or the difference becomes a padding oracle.
   */
  abstract readonly keyDependent: boolean;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The envelope is structurally wrong before any key is involved: a missing field, a value that
 * is not strict base64, an iv that is not 16 bytes, a value over its size limit.
 *
 * @public
 */
export class WxMalformedPayloadError extends WxOpenDataError {
  readonly code = 'MALFORMED_PAYLOAD' as const;
  readonly keyDependent = false;

  /**
   * @param field - name of the offending field, safe to show to the client
   * @param reason - short description of what is wrong, without the value itself
   */
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * Decryption failed: bad padding, a ciphertext length that is not a non-zero multiple of the
 * block size, invalid UTF-8, invalid or unsafe JSON. One error for all of them, on purpose.
 *
 * @public
 */
export class WxDecryptionError extends WxOpenDataError {
  readonly code = 'DECRYPT_FAILED' as const;
  readonly keyDependent = true;

  constructor() {
    super('open data could not be decrypted');
  }
}

/**
 * The session key itself is unusable (not strict base64 of exactly 16 bytes). It comes from the
 * server side, so this points to a broken session store or code2Session answer.
 *
 * @public
 */
export class WxSessionKeyError extends WxOpenDataError {
  readonly code = 'SESSION_KEY_INVALID' as const;
  readonly keyDependent = true;

  constructor() {
    super('session key is not base64 of 16 bytes');
  }
}

/**
 * Codes of the watermark checks.
 *
 * @public
 */
export type WxWatermarkErrorCode = Extract<
  WxOpenDataErrorCode,
  'WATERMARK_INVALID' | 'WATERMARK_APPID_MISMATCH' | 'WATERMARK_EXPIRED' | 'WATERMARK_FROM_FUTURE'
>;

/**
 * The decrypted payload's watermark is missing or malformed, names another mini program, or is
 * outside the freshness window.
 *
 * @public
 */
export class WxWatermarkError extends WxOpenDataError {
  readonly keyDependent = true;

  constructor(readonly code: WxWatermarkErrorCode) {
    super(WATERMARK_MESSAGES[code]);
  }
}

const WATERMARK_MESSAGES: Record<WxWatermarkErrorCode, string> = {
  WATERMARK_INVALID: 'watermark is missing or malformed',
  WATERMARK_APPID_MISMATCH: 'watermark appid is not the expected mini program',
  WATERMARK_EXPIRED: 'watermark timestamp is older than the freshness window',
  WATERMARK_FROM_FUTURE: 'watermark timestamp is further ahead than the allowed clock skew',
};

/**
 * `signature` is not `sha1(rawData + session_key)`.
 *
 * @public
 */
export class WxSignatureError extends WxOpenDataError {
  readonly code = 'SIGNATURE_INVALID' as const;
  readonly keyDependent = true;

  constructor() {
    super('signature does not match rawData');
  }
}

/**
 * The decrypted payload names a user (`openId`/`unionId`) other than the session's own. CBC has
 * no MAC, so whoever flips iv bits can rewrite the first plaintext block, where `openId` sits.
 *
 * @public
 */
export class WxIdentityMismatchError extends WxOpenDataError {
  readonly code = 'IDENTITY_MISMATCH' as const;
  readonly keyDependent = true;

  constructor(readonly field: 'openId' | 'unionId') {
    super(`decrypted ${field} is not the session's own`);
  }
}

/**
 * Decrypted data did not satisfy the route's DTO. Treated as key-dependent: only a correct key
 * yields parseable JSON, so a distinct answer would confirm that the padding was right.
 *
 * @public
 */
export class WxPayloadValidationError extends WxOpenDataError {
  readonly code = 'PAYLOAD_INVALID' as const;
  readonly keyDependent = true;

  /**
   * @param properties - property paths that failed, never their values
   */
  constructor(readonly properties: readonly string[]) {
    super(`decrypted payload failed validation at: ${properties.join(', ') || '(root)'}`);
  }
}

/**
 * No live session for the presented token (absent, unknown, expired or revoked).
 *
 * @public
 */
export class WxSessionNotFoundError extends WxOpenDataError {
  readonly code = 'SESSION_NOT_FOUND' as const;
  readonly keyDependent = false;

  constructor(reason = 'no session for this token') {
    super(reason);
  }
}

/**
 * The options are wrong: thrown at boot (by the module, before any provider is built or any
 * connection opened) or by a constructor, listing every problem at once. Each problem names the
 * option and what to do, never its value (it may be a secret or a URL with a password).
 *
 * @public
 */
export class WxOpenDataConfigError extends WxOpenDataError {
  readonly code = 'CONFIG_INVALID' as const;
  readonly keyDependent = false;
  /** One line per problem, each naming the option. */
  readonly problems: readonly string[];

  /**
   * @param problems - every problem found, each naming the option
   * @param subject - what was configured, e.g. `WxOpenDataModule options` or `WxApiClient`
   */
  constructor(problems: readonly string[], subject = 'WxOpenDataModule options') {
    super(`Invalid ${subject}:\n- ${problems.join('\n- ')}`);
    this.problems = Object.freeze([...problems]);
  }
}

/**
 * An optional peer dependency that an option or a call needs is not installed (or does not load).
 * A configuration error: thrown at boot by the module's options, by a Redis store's first
 * `connect()` (before any connection is opened), or at the first call through a context whose
 * peer is missing. The message names the packages and the `npm install` line.
 *
 * @public
 */
export class WxMissingPeerError extends WxOpenDataConfigError {
  /** The packages that could not be loaded. */
  readonly packages: readonly string[];
  /** What installs everything `needs` needs, e.g. `npm install keyv @keyv/redis`. */
  readonly installCommand: string;

  /**
   * @param needs - what needs the packages, e.g. `redis` or `a WebSocket call`
   * @param missing - the packages that could not be loaded
   * @param install - every package `needs` needs (installed together); default `missing`
   * @param subject - what was configured, as for {@link WxOpenDataConfigError}
   */
  constructor(
    needs: string,
    missing: readonly string[],
    install: readonly string[] = missing,
    subject?: string,
  ) {
    super([missingPeerProblem(needs, missing, install)], subject);
    this.packages = Object.freeze([...missing]);
    this.installCommand = `npm install ${install.join(' ')}`;
  }
}

/**
 * The call went through an execution context the library cannot read (an RPC microservice, or
 * any context other than HTTP, GraphQL and WebSocket): names the context type instead of failing
 * later with a `TypeError`. Thrown as it is, never answered: Nest logs it and the context's own
 * error handling answers.
 *
 * @public
 */
export class WxUnsupportedContextError extends WxOpenDataError {
  readonly code = 'CONTEXT_UNSUPPORTED' as const;
  readonly keyDependent = false;

  constructor(readonly contextType: string) {
    super(
      `@WxVerified() does not support the "${contextType}" execution context: use it on HTTP routes ` +
        '(Express or Fastify), GraphQL resolvers or WebSocket gateways, or read the call yourself in a subclass of WxVerifiedGuard (override readCallSite)',
    );
  }
}
