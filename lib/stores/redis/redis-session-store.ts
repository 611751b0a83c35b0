import { randomBytes } from 'node:crypto';
import type { WxAccessTokenLock, WxSharedAccessToken } from '../../api/access-token-store.js';
import {
  WxSessionStore,
  WxSessionStoreUnavailableError,
  wxUserId,
  type WxKeyAttempt,
  type WxSessionRecord,
  type WxSessionWithKeys,
  type WxUserKeys,
} from '../../session/index.js';
import type { WxLoginCodeClaim, WxRememberedLogin } from '../../session/index.js';
import { checkBudgetId, checkKeyAttempt } from '../../session/key-budget.js';
import { ttlMilliseconds } from '../../session/ttl.js';
import { parseJsonObject } from '../../core/json.js';
import { RedisConnection, type RedisCommands } from './connection.js';
import { RedisKeyLayout } from './keys.js';
import { UnopenableSecretError, type SecretSeal } from './secret-seal.js';
import { resolveRedisStoreOptions, type RedisWxSessionStoreOptions } from './options.js';
import { CLAIM_LOGIN_CODE } from './scripts.js';
import {
  CLOCK_MICROS,
  READ_SESSION_WITH_KEYS,
  RELEASE_LOCK,
  SET_USER_KEYS_IF_VERSION,
  SETTLE_KEY_ATTEMPT,
  TAKE_KEY_ATTEMPT,
  type RedisScript,
} from './scripts.js';

/**
 * Sessions, users' keys and the fleet's shared state in Redis, for any number of app instances:
 * a session created on one instance works on all, a logout or key rotation on one is seen by all,
 * and the access token, the replay cache and the key-attempt budgets are the fleet's.
 *
 * - Values are JSON; TTLs are set in Redis (`PX`), so Redis expires entries by itself; keys sit
 *   under `namespace` and name no secret (tokens appear hashed, see the README's key layout).
 *   With the `encryption` option, session keys and access tokens are sealed (AES-256-GCM) before
 *   they leave the process, script arguments included.
 * - The compare-and-set of users' keys, taking and settling key attempts, and lock release are
 *   Lua scripts (one round trip each), atomic across instances; replay marks and locks are
 *   `SET NX`.
 * - A guarded request costs one round trip: one script reads the session and its user's keys
 *   (two reads on a Redis Cluster, where the user's key sits in another slot).
 * - Fails closed: an operation that Redis does not answer within `commandTimeoutMs` throws
 *   {@link WxSessionStoreUnavailableError} (HTTP 503 with `Retry-After`), later ones fail at once
 *   until a probe sees Redis back, and the store recovers by itself.
 *
 * Build it from a URL or node-redis options (the store owns that connection and closes it on
 * {@link close}), or hand it your own Keyv on `@keyv/redis`, KeyvRedis store or node-redis client
 * (left open on {@link close}). `keyv` and `@keyv/redis` are optional peer dependencies, loaded
 * only when this store is used.
 *
 * ```ts
 * WxOpenDataModule.forRoot({ appId, appSecret, sessionStore: new RedisWxSessionStore({ url: 'redis://127.0.0.1:6379' }) })
 * ```
 *
 * @public
 */
export class RedisWxSessionStore extends WxSessionStore {
  private readonly layout: RedisKeyLayout;
  private readonly connection: RedisConnection;
  /** Seals secrets before they go to Redis; `undefined` without the `encryption` option. */
  private readonly seal: SecretSeal | undefined;
  private readonly retryAfterSeconds: number;

  /**
   * Starts connecting at once, in the background; {@link connect} waits for it.
   *
   * @throws `WxOpenDataConfigError` listing every bad option (the encryption keys included),
   *   before any connection is opened
   */
  constructor(options: RedisWxSessionStoreOptions) {
    super();
    const resolved = resolveRedisStoreOptions(options);
    this.seal = resolved.seal;
    this.retryAfterSeconds = resolved.retryAfterSeconds;
    this.layout = new RedisKeyLayout(resolved.namespace);
    this.connection = new RedisConnection(resolved, this.layout.probe);
  }

  /** The prefix of every key this store writes. */
  get namespace(): string {
    return this.layout.namespace;
  }

  /** Whether Redis is answering (operations are sent rather than refused at once). */
  get isAvailable(): boolean {
    return this.connection.isUp;
  }

  override connect(): Promise<void> {
    return this.connection.connect();
  }

  override close(): Promise<void> {
    return this.connection.close();
  }

  /** One read of the probe key within the command timeout: fails at once while Redis is down. */
  override async ping(): Promise<void> {
    await this.connection.run('ping', (redis) => redis.get(this.layout.probe));
  }

  /** Redis's own clock (`TIME`), on the node of `userId`'s keys: one clock for the whole fleet. */
  override async clockMicros(userId: string): Promise<number> {
    const key = this.layout.user(userId);
    const micros = Number(
      await this.connection.run('clockMicros', (redis) => runScript(redis, CLOCK_MICROS, [key], [])),
    );
    if (!Number.isSafeInteger(micros) || micros <= 0) throw new RangeError('Redis TIME answered nonsense');
    return micros;
  }

  async get(token: string): Promise<WxSessionRecord | undefined> {
    const key = this.layout.session(token);
    return parseSession(await this.connection.run('get', (redis) => redis.get(key)));
  }

  async set(token: string, session: WxSessionRecord, ttlSeconds: number): Promise<void> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.layout.session(token);
    const value = JSON.stringify(sessionJson(session));
    await this.connection.run('set', (redis) =>
      ttl > 0 ? redis.set(key, value, { expiration: { type: 'PX', value: ttl } }) : redis.del([key]),
    );
  }

  async delete(token: string): Promise<void> {
    const key = this.layout.session(token);
    await this.connection.run('delete', (redis) => redis.del([key]));
  }

  async getUserKeys(userId: string): Promise<WxUserKeys | undefined> {
    const key = this.layout.user(userId);
    return this.openUserKeys(
      await this.connection.run('getUserKeys', (redis) => redis.get(key)),
      key,
      'getUserKeys',
    );
  }

  async setUserKeys(
    userId: string,
    keys: WxUserKeys,
    expectedVersion: number | null,
    ttlSeconds: number,
  ): Promise<boolean> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.layout.user(userId);
    // With encryption the script sees the sealed keys only: no secret in a script argument.
    const args = [
      expectedVersion === null ? '' : String(expectedVersion),
      this.userKeysValue(keys, key),
      String(ttl),
      this.seal === undefined ? '0' : '1',
    ];
    const written = await this.connection.run('setUserKeys', (redis) =>
      runScript(redis, SET_USER_KEYS_IF_VERSION, [key], args),
    );
    return Number(written) === 1;
  }

  override async getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    const sessionKey = this.layout.session(token);
    if (this.connection.isCluster) {
      // The user's keys live in another slot: two reads, within one deadline.
      return this.connection.run('getSessionWithKeys', async (redis) => {
        const session = parseSession(await redis.get(sessionKey));
        if (session === undefined) return undefined;
        const userKey = this.layout.user(wxUserId(session.appId, session.openid));
        return { session, keys: this.openUserKeys(await redis.get(userKey), userKey, 'getSessionWithKeys') };
      });
    }
    const reply = await this.connection.run('getSessionWithKeys', (redis) =>
      runScript(redis, READ_SESSION_WITH_KEYS, [sessionKey], [this.layout.userPrefix]),
    );
    if (!Array.isArray(reply)) return undefined;
    const session = parseSession(reply[0]);
    if (session === undefined) return undefined;
    const userKey = this.layout.user(wxUserId(session.appId, session.openid));
    return { session, keys: this.openUserKeys(reply[1], userKey, 'getSessionWithKeys') };
  }

  async claimPayload(fingerprint: string, ttlSeconds: number): Promise<boolean> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.layout.replay(fingerprint);
    if (ttl === 0) {
      return (await this.connection.run('claimPayload', (redis) => redis.get(key))) === null;
    }
    const reply = await this.connection.run('claimPayload', (redis) =>
      redis.set(key, '1', { expiration: { type: 'PX', value: ttl }, condition: 'NX' }),
    );
    return reply !== null && reply !== undefined;
  }

  async takeKeyAttempt(budgetId: string, maxAttempts: number, ttlSeconds: number): Promise<WxKeyAttempt> {
    checkKeyAttempt(STORE, budgetId, maxAttempts, ttlSeconds);
    const key = this.layout.keyBudget(budgetId);
    const args = [String(maxAttempts), String(toTtlMs(ttlSeconds))];
    const reply = Number(
      await this.connection.run('takeKeyAttempt', (redis) => runScript(redis, TAKE_KEY_ATTEMPT, [key], args)),
    );
    if (reply === 1) return 'granted';
    return reply === -1 ? 'spent' : 'busy';
  }

  async settleKeyAttempt(budgetId: string, succeeded: boolean): Promise<void> {
    checkBudgetId(STORE, budgetId);
    const key = this.layout.keyBudget(budgetId);
    await this.connection.run('settleKeyAttempt', (redis) =>
      runScript(redis, SETTLE_KEY_ATTEMPT, [key], [succeeded ? '1' : '0']),
    );
  }

  async readAccessToken(appId: string): Promise<WxSharedAccessToken | undefined> {
    const key = this.layout.accessToken(appId);
    const reply = await this.connection.run('readAccessToken', (redis) => redis.get(key));
    return parseAccessToken(
      this.seal === undefined ? reply : this.opened(parseObject(reply), key, 'readAccessToken'),
    );
  }

  async writeAccessToken(appId: string, token: WxSharedAccessToken): Promise<void> {
    if (!Number.isFinite(token.expiresAt) || !Number.isFinite(token.refreshAt)) {
      throw new RangeError('RedisWxSessionStore: access token times must be finite');
    }
    const key = this.layout.accessToken(appId);
    const ttl = Math.round(token.expiresAt - Date.now());
    const json = JSON.stringify(accessTokenJson(token));
    const value = this.seal === undefined ? json : JSON.stringify({ enc: this.seal.seal(json, key) });
    await this.connection.run('writeAccessToken', (redis) =>
      ttl > 0 ? redis.set(key, value, { expiration: { type: 'PX', value: ttl } }) : redis.del([key]),
    );
  }

  async lockAccessTokenRefresh(appId: string, ttlSeconds: number): Promise<WxAccessTokenLock | undefined> {
    const ttl = toTtlMs(ttlSeconds);
    if (ttl === 0) return undefined;
    const key = this.layout.accessTokenLock(appId);
    const owner = randomBytes(16).toString('base64url');
    const reply = await this.connection.run('lockAccessTokenRefresh', (redis) =>
      redis.set(key, owner, { expiration: { type: 'PX', value: ttl }, condition: 'NX' }),
    );
    if (reply === null || reply === undefined) return undefined;
    return {
      release: () =>
        this.connection
          .run('releaseAccessTokenLock', (redis) => runScript(redis, RELEASE_LOCK, [key], [owner]))
          .then(
            () => undefined,
            // The lock lapses by itself at its TTL.
            () => undefined,
          ),
    };
  }
  /** The value a user's keys are written as: JSON, or with encryption `{version, enc}`. */
  private userKeysValue(keys: WxUserKeys, key: string): string {
    const json = JSON.stringify(userKeysJson(keys));
    if (this.seal === undefined) return json;
    return JSON.stringify({ version: keys.version, enc: this.seal.seal(json, `${key}|${keys.version}`) });
  }

  /**
   * A user's keys from what Redis holds under `key`. With encryption only sealed keys count (a
   * value written in clear, before encryption was turned on or by someone else, is none); the
   * version in clear must be the one sealed with them.
   *
   * @throws {@link WxSessionStoreUnavailableError} for sealed keys that do not open
   */
  private openUserKeys(reply: unknown, key: string, operation: string): WxUserKeys | undefined {
    if (this.seal === undefined) return parseUserKeys(reply);
    const outer = parseObject(reply);
    if (outer === undefined || typeof outer['version'] !== 'number') return undefined;
    const keys = parseUserKeys(this.opened(outer, `${key}|${outer['version']}`, operation));
    return keys?.version === outer['version'] ? keys : undefined;
  }

  /**
   * The plaintext sealed in `value.enc` for `context`, or `undefined` when `value` holds none.
   *
   * @throws {@link WxSessionStoreUnavailableError} when it does not open: never answered as
   *   absent, which would log users out over a key missing from the configuration
   */
  private opened(
    value: Record<string, unknown> | undefined,
    context: string,
    operation: string,
  ): string | undefined {
    const sealed = value?.['enc'];
    if (typeof sealed !== 'string' || this.seal === undefined) return undefined;
    try {
      return this.seal.open(sealed, context);
    } catch (error) {
      if (error instanceof UnopenableSecretError) {
        throw new WxSessionStoreUnavailableError('failed', operation, this.retryAfterSeconds);
      }
      throw error;
    }
  }

  // ---- Duplicate login codes (issue 12) ----

  override async claimLoginCode(codeHash: string, ttlSeconds: number): Promise<WxLoginCodeClaim> {
    const ttl = Math.max(toTtlMs(ttlSeconds), 1);
    const owner = randomBytes(12).toString('base64url');
    const key = this.layout.loginCode(codeHash);
    const reply = await this.connection.run('claimLoginCode', (redis) =>
      runScript(redis, CLAIM_LOGIN_CODE, [key], [`${LOGIN_CLAIM_PREFIX}${owner}`, String(ttl)]),
    );
    if (typeof reply !== 'string') return { state: 'claimed', owner };
    if (reply.startsWith(LOGIN_CLAIM_PREFIX)) return { state: 'pending' };
    const login = parseRememberedLogin(reply);
    // An unreadable entry is treated as a claim in progress: it lapses at its TTL.
    return login === undefined ? { state: 'pending' } : { state: 'done', login };
  }

  override async rememberLogin(
    codeHash: string,
    login: WxRememberedLogin,
    ttlSeconds: number,
  ): Promise<void> {
    const ttl = toTtlMs(ttlSeconds);
    const key = this.layout.loginCode(codeHash);
    const value = JSON.stringify(
      login.unionid === undefined
        ? { appId: login.appId, openid: login.openid }
        : { appId: login.appId, openid: login.openid, unionid: login.unionid },
    );
    await this.connection.run('rememberLogin', (redis) =>
      ttl > 0 ? redis.set(key, value, { expiration: { type: 'PX', value: ttl } }) : redis.del([key]),
    );
  }

  override async releaseLoginCode(codeHash: string, owner: string): Promise<void> {
    const key = this.layout.loginCode(codeHash);
    await this.connection.run('releaseLoginCode', (redis) =>
      runScript(redis, RELEASE_LOCK, [key], [`${LOGIN_CLAIM_PREFIX}${owner}`]),
    );
  }
}

const STORE = 'RedisWxSessionStore';

/** EVALSHA, and EVAL once when the server does not have the script yet (or lost it). */
async function runScript(
  redis: RedisCommands,
  script: RedisScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await redis.evalSha(script.sha1, { keys, arguments: args });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, { keys, arguments: args });
  }
}

/** A TTL in seconds as Redis milliseconds; 0 for "remove". */
const toTtlMs = (ttlSeconds: number): number => ttlMilliseconds('RedisWxSessionStore', ttlSeconds);

/** A reply as text: node-redis answers strings, or Buffers under a type mapping. */
function text(reply: unknown): string | undefined {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  return undefined;
}

/** JSON of an object, or `undefined` for anything absent or unreadable: it is not a valid entry. */
function parseObject(reply: unknown): Record<string, unknown> | undefined {
  const json = text(reply);
  return json === undefined ? undefined : parseJsonObject(json);
}

function parseSession(reply: unknown): WxSessionRecord | undefined {
  const value = parseObject(reply);
  if (value === undefined) return undefined;
  const { openid, unionid, appId, createdAt } = value;
  if (typeof openid !== 'string' || typeof appId !== 'string' || typeof createdAt !== 'number') {
    return undefined;
  }
  const session: WxSessionRecord = { openid, appId, createdAt };
  if (typeof unionid === 'string') session.unionid = unionid;
  return session;
}

function sessionJson(session: WxSessionRecord): WxSessionRecord {
  const { openid, unionid, appId, createdAt } = session;
  return unionid === undefined ? { openid, appId, createdAt } : { openid, unionid, appId, createdAt };
}

function parseUserKeys(reply: unknown): WxUserKeys | undefined {
  const value = parseObject(reply);
  if (value === undefined) return undefined;
  const { sessionKey, version, previousSessionKey, previousKeyExpiresAt } = value;
  if (typeof sessionKey !== 'string' || typeof version !== 'number') return undefined;
  const keys: WxUserKeys = { sessionKey, version };
  if (typeof previousSessionKey === 'string') keys.previousSessionKey = previousSessionKey;
  if (typeof previousKeyExpiresAt === 'number') keys.previousKeyExpiresAt = previousKeyExpiresAt;
  return keys;
}

function userKeysJson(keys: WxUserKeys): WxUserKeys {
  const json: WxUserKeys = { sessionKey: keys.sessionKey, version: keys.version };
  if (keys.previousSessionKey !== undefined) json.previousSessionKey = keys.previousSessionKey;
  if (keys.previousKeyExpiresAt !== undefined) json.previousKeyExpiresAt = keys.previousKeyExpiresAt;
  return json;
}

function parseAccessToken(reply: unknown): WxSharedAccessToken | undefined {
  const value = parseObject(reply);
  if (value === undefined) return undefined;
  const { accessToken, expiresAt, refreshAt, forcedAt } = value;
  if (typeof accessToken !== 'string' || typeof expiresAt !== 'number' || typeof refreshAt !== 'number') {
    return undefined;
  }
  return typeof forcedAt === 'number'
    ? { accessToken, expiresAt, refreshAt, forcedAt }
    : { accessToken, expiresAt, refreshAt };
}

function accessTokenJson(token: WxSharedAccessToken): WxSharedAccessToken {
  const { accessToken, expiresAt, refreshAt, forcedAt } = token;
  return forcedAt === undefined
    ? { accessToken, expiresAt, refreshAt }
    : { accessToken, expiresAt, refreshAt, forcedAt };
}

// ---- Duplicate login codes (issue 12) ----

/** Marks a claim, which JSON of a remembered login never starts with. */
const LOGIN_CLAIM_PREFIX = 'claim:';

function parseRememberedLogin(text: string): WxRememberedLogin | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { appId, openid, unionid } = value as Record<string, unknown>;
  if (typeof appId !== 'string' || typeof openid !== 'string') return undefined;
  if (unionid === undefined) return { appId, openid };
  return typeof unionid === 'string' ? { appId, openid, unionid } : undefined;
}
