import { hash } from 'node:crypto';

/**
 * Where each kind of entry lives in Redis, under the store's namespace `<ns>`:
 *
 * | key | value | TTL |
 * | --- | --- | --- |
 * | `<ns>:session:{<sha256(token)>}` | session record, JSON | the session TTL |
 * | `<ns>:key-budget:{<keyBudgetId>}` | hash: `inFlight`, `failed` | the session TTL, from the first take |
 * | `<ns>:user:<appId>:<openid>` | the user's keys (secret), JSON; `{version, enc}` with encryption | the session TTL, renewed at login |
 * | `<ns>:replay:<sha256(encryptedData)>` | `1` | the freshness window |
 * | `<ns>:access-token:{<appId>}` | the access token (secret), JSON | until it expires |
 * | `<ns>:access-token-lock:{<appId>}` | a random holder id | the lock TTL |
 *
 * Tokens appear in key names only hashed: a key name shows up in `SCAN`, `MONITOR` and slow
 * logs, and a token is a bearer credential. A budget id is a hash of the user and the key
 * (`keyBudgetId`), so no key material shows either. Braces are Redis Cluster hash tags: each
 * script touches one key, or keys of one tag, so every script runs within one slot.
 *
 * @internal
 */
export class RedisKeyLayout {
  /** The prefix of users' keys, as the session-read script appends `<appId>:<openid>` to it. */
  readonly userPrefix: string;
  readonly probe: string;

  constructor(readonly namespace: string) {
    this.userPrefix = `${namespace}:user:`;
    this.probe = `${namespace}:probe`;
  }

  session(token: string): string {
    return `${this.namespace}:session:{${hashToken(token)}}`;
  }

  /** `budgetId` is `keyBudgetId(appId, openid, sessionKey)`, base64url: no brace in it. */
  keyBudget(budgetId: string): string {
    return `${this.namespace}:key-budget:{${budgetId}}`;
  }

  /** `userId` is `wxUserId(appId, openid)`: `<appId>:<openid>`. */
  user(userId: string): string {
    return this.userPrefix + userId;
  }

  replay(fingerprint: string): string {
    return `${this.namespace}:replay:${fingerprint}`;
  }

  accessToken(appId: string): string {
    return `${this.namespace}:access-token:{${appId}}`;
  }

  accessTokenLock(appId: string): string {
    return `${this.namespace}:access-token-lock:{${appId}}`;
  }

  /** Issue 12: `<ns>:login-code:<hash of appId and code>` → a claim or the remembered login, 300 s. */
  loginCode(codeHash: string): string {
    return `${this.namespace}:login-code:${codeHash}`;
  }
}

/** SHA-256 of a session token, base64url: tokens carry 256 random bits, so no salt is needed. */
function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
