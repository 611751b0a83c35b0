import { createHash } from 'node:crypto';
import { WxApiTimeoutError } from '../api/errors.js';
import type { WxRememberedLogin, WxSessionStore } from './session-store.js';

/**
 * The store key of a `wx.login` code: base64url SHA-256 of `appId` and the code. Codes never reach
 * the store, a log line or a key name; a code carries enough entropy that no salt is needed.
 *
 * @public
 */
export function loginCodeHash(appId: string, code: string): string {
  return createHash('sha256').update(`${appId}\n${code}`, 'utf8').digest('base64url');
}

/**
 * Settings of {@link WxLoginCodes}.
 *
 * @public
 */
export interface WxLoginCodesOptions {
  /** How long a redemption may take before another caller may try: the code2Session budget plus a margin. */
  readonly claimTtlSeconds: number;
  /** How long a redeemed code is remembered: its life at WeChat, 300 s. */
  readonly rememberSeconds?: number;
  /** How long a duplicate waits for a redemption elsewhere, in ms, before giving up. */
  readonly waitBudgetMs: number;
  /** Pause between two looks at a redemption elsewhere, in ms. Default 50. */
  readonly pollMs?: number;
}

/**
 * What redeeming a code gave: who logged in, and whether this call redeemed it (`fresh`, the
 * user's key was just installed) or joined a redemption of the same code (`fresh: false`).
 *
 * @public
 */
export interface WxRedeemedLogin {
  readonly login: WxRememberedLogin;
  readonly fresh: boolean;
}

/**
 * Duplicate `wx.login` codes (WeChat's 40163): a code is single use, yet pages fire several
 * requests with one code, clients retry after a timeout the server did not see, and load
 * balancers send them to different instances. So:
 *
 * - concurrent redemptions of one code in this process share one promise;
 * - across instances, the store's atomic claim lets one caller call code2Session; the others poll
 *   until it remembers the login (or gives its claim back, and one of them tries);
 * - a redeemed code is remembered (a hash of it → who logged in, never the key) for the code's
 *   5-minute life, so a retry gets a session instead of 40163;
 * - a 40163 with nothing remembered is passed on as it is: the client must call `wx.login` again.
 *   It is never retried (retrying cannot succeed).
 *
 * Trade-off: within those 5 minutes, whoever presents the same code gets a session for its user,
 * as the first caller did. A code is a bearer credential already until it is redeemed; this
 * extends that to its documented life, no further.
 *
 * @public
 */
export class WxLoginCodes {
  private readonly inFlight = new Map<string, Promise<WxRememberedLogin>>();
  private readonly rememberSeconds: number;
  private readonly pollMs: number;

  constructor(
    private readonly store: WxSessionStore,
    private readonly options: WxLoginCodesOptions,
  ) {
    this.rememberSeconds = options.rememberSeconds ?? 300;
    this.pollMs = options.pollMs ?? 50;
  }

  /**
   * Redeems `code` of `appId` once across the fleet.
   *
   * @param exchange - calls code2Session and installs the user's key; runs at most once per code
   *   and life, on one instance (again only after a failed attempt gave its claim back)
   * @throws whatever `exchange` throws (e.g. `WxApiError` 40163 when the code was used and nothing
   *   remembers by whom); `WxApiTimeoutError` when the wait for a redemption elsewhere outlasts `waitBudgetMs`; the store's errors
   */
  async redeem(
    appId: string,
    code: string,
    exchange: () => Promise<WxRememberedLogin>,
  ): Promise<WxRedeemedLogin> {
    const codeHash = loginCodeHash(appId, code);
    const running = this.inFlight.get(codeHash);
    if (running !== undefined) return { login: await running, fresh: false };
    let fresh = false;
    const attempt = this.redeemAcrossFleet(codeHash, async () => {
      const login = await exchange();
      fresh = true;
      return login;
    });
    this.inFlight.set(codeHash, attempt);
    try {
      return { login: await attempt, fresh };
    } finally {
      this.inFlight.delete(codeHash);
    }
  }

  private async redeemAcrossFleet(
    codeHash: string,
    exchange: () => Promise<WxRememberedLogin>,
  ): Promise<WxRememberedLogin> {
    const started = Date.now();
    // Bounded: every round either returns, throws, or pauses, until the wait budget is spent.
    for (;;) {
      const claim = await this.store.claimLoginCode(codeHash, this.options.claimTtlSeconds);
      if (claim.state === 'done') return claim.login;
      if (claim.state === 'claimed') {
        let login: WxRememberedLogin;
        try {
          login = await exchange();
        } catch (error) {
          await this.store.releaseLoginCode(codeHash, claim.owner).catch(() => undefined);
          throw error;
        }
        await this.store.rememberLogin(codeHash, login, this.rememberSeconds);
        return login;
      }
      if (Date.now() - started + this.pollMs > this.options.waitBudgetMs) {
        // As if code2Session itself had been too slow: a 504, retry the login.
        throw new WxApiTimeoutError('code2Session', this.options.waitBudgetMs);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
