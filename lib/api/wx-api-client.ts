import { performance } from 'node:perf_hooks';
import { decodeStrictBase64 } from '../core/base64.js';
import {
  AccessTokenCache,
  SharedAccessTokenCache,
  type AccessTokenSource,
  type WxAccessTokenStatus,
  type WxFetchedAccessToken,
} from './access-token-cache.js';
import { backoffDelayMs } from './backoff.js';
import { Deadline, pause, settleWithin } from './deadline.js';
import {
  isAccessTokenRejection,
  WX_ERRCODE_DATA_NOT_EXIST,
  WX_ERRCODE_INVALID_SIGNATURE,
} from './errcodes.js';
import { wxCallOutcome } from './call-outcome.js';
import { WxApiError, WxApiUnavailableError, type WxApiOperation } from './errors.js';
import {
  exchangeOnce,
  isRetryableFailure,
  type WxApiRequest,
  type WxExchangeLayer,
  type WxJsonObject,
} from './http-exchange.js';
import {
  resolveWxApiClientOptions,
  type ResolvedWxApiClientOptions,
  type WxApiClientOptions,
} from './options.js';
import { WxApiSecurityLayer } from './security/api-security.js';
import { sessionKeySignature } from './session-key-signature.js';
import {
  checkInteractiveData,
  checkStorageKeys,
  checkUserStorage,
  encryptedMsgHash,
  readActivityId,
  readEncryptedDataCheck,
  readPhoneInfo,
  readRiskRank,
  readStringField,
  readUserEncryptKeys,
  type WxActivityId,
  type WxActivitySharer,
  type WxEncryptedDataCheck,
  type WxInteractiveDataEntry,
  type WxPaidOrder,
  type WxPhoneInfo,
  type WxUserEncryptKey,
  type WxUserRiskRank,
  type WxUserRiskRankRequest,
  type WxUserStorageEntry,
} from './mini-program-apis.js';

/**
 * What code2Session tells about a user who just logged in.
 *
 * @public
 */
export interface WxCode2SessionResult {
  /** The user's id within this mini program. */
  openid: string;
  /** The user's current session key, base64 of 16 bytes. Keep it server-side. */
  sessionKey: string;
  /** The user's id across the Open Platform account, when the mini program is bound to one. */
  unionid?: string;
}

/**
 * WeChat's server API around mini program sessions, with the app's access token managed.
 *
 * Every public call has one time budget (`timeoutMs`): attempts, backoff pauses, the token fetch
 * and a retry after a token refresh all fit in it, so a call settles within the budget plus
 * scheduling delay. Busy answers (`errcode` -1) and network failures are retried with jittered
 * exponential backoff, at most `maxAttempts` times and only while the budget allows the pause;
 * a timeout is not retried, as the budget is spent by then. Other errcodes are never retried,
 * except that an access-token rejection (40001, 40014, 42001) refreshes the token once and
 * repeats the call once.
 *
 * Requests that change state upstream can be retried after WeChat handled them but the answer
 * was lost (a reset connection): a retried code2Session then fails with 40163 (code used), a
 * retried resetUserSessionKey with 87009 (the key was already rotated).
 *
 * @public
 */
export class WxApiClient {
  private readonly options: ResolvedWxApiClientOptions;
  private readonly accessTokens: AccessTokenSource;
  /** The API security mode, when configured. */
  private readonly layer: WxExchangeLayer | undefined;

  /**
   * @throws {@link WxOpenDataConfigError} listing every option that is missing or out of range
   */
  constructor(options: WxApiClientOptions) {
    this.options = resolveWxApiClientOptions(options);
    const { apiSecurity } = this.options;
    this.layer = apiSecurity && new WxApiSecurityLayer(apiSecurity, this.options.appId, this.options.now);
    const fetchToken = (force: boolean): Promise<WxFetchedAccessToken> => this.fetchAccessToken(force);
    const { accessTokenStore, appId, now, timeoutMs } = this.options;
    this.accessTokens =
      accessTokenStore === undefined
        ? new AccessTokenCache(fetchToken, now)
        : new SharedAccessTokenCache({
            appId,
            store: accessTokenStore,
            fetchToken,
            now,
            // The holder's fetch has a budget of timeoutMs; the lock outlives it, and lapses by
            // itself soon after if the holder dies.
            lockTtlMs: timeoutMs + 1000,
            waitBudgetMs: timeoutMs,
          });
  }

  /** The AppID this client calls WeChat for. */
  get appId(): string {
    return this.options.appId;
  }

  /**
   * Exchanges a `wx.login` code for the user's openid, session key and, when present, unionid.
   *
   * @throws {@link WxApiError} e.g. 40029 (invalid or expired code), 40163 (code used), 45011
   * (rate limit), 40226 (blocked user); {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async code2Session(code: string): Promise<WxCode2SessionResult> {
    const { appId, appSecret } = this.options;
    const answer = await this.sendWithRetries(
      {
        operation: 'code2Session',
        method: 'GET',
        path: '/sns/jscode2session',
        query: { appid: appId, secret: appSecret, js_code: code, grant_type: 'authorization_code' },
      },
      this.newDeadline(),
    );
    return readCode2Session(answer);
  }

  /**
   * The app's access token from the stable-token endpoint: cached until 5 minutes (or 10% of its
   * lifetime, if shorter) before it expires; callers arriving while it is fetched share that one
   * request. With an `accessTokenStore`, the token is the fleet's: one instance fetches it for all.
   *
   * @throws {@link WxApiError} e.g. 40125 (bad secret), 40164 (IP not whitelisted);
   * {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  getAccessToken(): Promise<string> {
    return settleWithin(this.newDeadline(), 'getAccessToken', () => this.accessTokens.get());
  }

  /** What this process holds of the access token, without fetching one: for health checks. */
  accessTokenStatus(): WxAccessTokenStatus {
    return this.accessTokens.status();
  }

  /**
   * Forgets the cached access token, so the next call fetches one (with an `accessTokenStore`:
   * reads the fleet's token again).
   */
  invalidateAccessToken(): void {
    this.accessTokens.invalidate();
  }

  /**
   * Whether `sessionKey` is the user's current session key (checksession).
   *
   * @returns `false` when WeChat answers 87009 (the key is not valid)
   * @throws {@link WxApiError} for any other errcode; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async checkSessionKey(openid: string, sessionKey: string): Promise<boolean> {
    try {
      await this.sendWithAccessToken('checkSessionKey', this.newDeadline(), (accessToken) =>
        signedSessionKeyRequest('checkSessionKey', '/wxa/checksession', accessToken, openid, sessionKey),
      );
      return true;
    } catch (error) {
      if (error instanceof WxApiError && error.errcode === WX_ERRCODE_INVALID_SIGNATURE) return false;
      throw error;
    }
  }

  /**
   * Has WeChat replace the user's session key (resetusersessionkey), proving the current one.
   * The new key keeps the old one's expiry; the old one stops working.
   *
   * @param sessionKey - the user's current session key
   * @returns the new session key
   * @throws {@link WxApiError} e.g. 87009 (`sessionKey` is not current), 45011;
   * {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async resetUserSessionKey(openid: string, sessionKey: string): Promise<string> {
    const answer = await this.sendWithAccessToken('resetUserSessionKey', this.newDeadline(), (accessToken) =>
      signedSessionKeyRequest(
        'resetUserSessionKey',
        '/wxa/resetusersessionkey',
        accessToken,
        openid,
        sessionKey,
      ),
    );
    const newKey = answer['session_key'];
    if (!isSessionKey(newKey)) {
      throw new WxApiUnavailableError('resetUserSessionKey', 'invalid-response', 'malformed session_key');
    }
    return newKey;
  }

  /**
   * Exchanges a phone-number code (from the `getPhoneNumber` button) for the user's number.
   * Each code is paid for when the button delivers it: exchange every code, once.
   *
   * @param openid - the session's user: WeChat then checks that the code is theirs, so a code
   *   taken from another user cannot be redeemed under this session. Pass it whenever known.
   * @returns `phone_info`, its shape checked; validate it as a `WxPhoneNumber` and check its
   *   watermark before trusting it (`WxPhoneNumbers.fromCode` does both)
   * @throws {@link WxApiError} e.g. 40029 (invalid code), 40003 (not this user's code), 45011, -1
   *   after the retries; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async getPhoneNumber(code: string, openid?: string): Promise<WxPhoneInfo> {
    const body = openid === undefined ? { code } : { code, openid };
    const answer = await this.sendWithAccessToken('getPhoneNumber', this.newDeadline(), (accessToken) =>
      jsonPost('getPhoneNumber', '/wxa/business/getuserphonenumber', accessToken, body),
    );
    return readPhoneInfo(answer);
  }

  // ---- The less common APIs (issue 12) ----

  /**
   * Asks WeChat whether it produced `encryptedData` (checkencryptedmsg). Only phone-number data of
   * the old `getPhoneNumber` flow, and only within 3 days of its creation, can be confirmed.
   * Sends `encryptedMsgHash(encryptedData)`: hash the base64 text exactly as the client got it.
   *
   * @returns `{ valid: true, createdAt }`, or `{ valid: false }` (also for errcode 1: unknown,
   *   older than 3 days, or another app's data)
   * @throws {@link WxApiError} e.g. 40097 (bad hash); {@link WxApiUnavailableError};
   *   {@link WxApiTimeoutError}
   */
  async checkEncryptedData(encryptedData: string): Promise<WxEncryptedDataCheck> {
    const body = { encrypted_msg_hash: encryptedMsgHash(encryptedData) };
    try {
      const answer = await this.sendWithAccessToken('checkEncryptedData', this.newDeadline(), (accessToken) =>
        jsonPost('checkEncryptedData', '/wxa/business/checkencryptedmsg', accessToken, body),
      );
      return readEncryptedDataCheck(answer);
    } catch (error) {
      if (error instanceof WxApiError && error.errcode === WX_ERRCODE_DATA_NOT_EXIST) return { valid: false };
      throw error;
    }
  }

  /**
   * The user's last three encrypt keys (getuserencryptkey), newest first, for the encrypted
   * network channel; the mini program names the one it used by `version`.
   *
   * @param sessionKey - the user's current session key: the request is signed with it over `""`
   * @throws {@link WxApiError} e.g. 87007 (session key missing or expired), 87009 (not the current
   *   key): the user must log in again; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async getUserEncryptKey(openid: string, sessionKey: string): Promise<WxUserEncryptKey[]> {
    const answer = await this.sendWithAccessToken('getUserEncryptKey', this.newDeadline(), (accessToken) =>
      signedSessionKeyRequest(
        'getUserEncryptKey',
        '/wxa/business/getuserencryptkey',
        accessToken,
        openid,
        sessionKey,
      ),
    );
    return readUserEncryptKeys(answer);
  }

  /**
   * Writes a mini game user's key-value pairs (set_user_storage), signed with the session key
   * over the exact body bytes sent.
   *
   * @throws {@link WxApiLimitError} before any call: more than 128 pairs, a key over 128 bytes, a
   *   pair over 1,024 bytes, an empty list, a value that is not a string;
   *   {@link WxApiError} e.g. 87017 (the user's data is over the limit), 87009 (stale key);
   *   {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async setUserStorage(
    openid: string,
    sessionKey: string,
    entries: readonly WxUserStorageEntry[],
  ): Promise<void> {
    checkUserStorage('setUserStorage', entries);
    const body = JSON.stringify({ kv_list: entries.map(({ key, value }) => ({ key, value })) });
    await this.sendSignedBody('setUserStorage', '/wxa/set_user_storage', openid, sessionKey, body);
  }

  /**
   * Removes keys of a mini game user's storage (remove_user_storage), signed like setUserStorage.
   *
   * @throws {@link WxApiLimitError} before any call (no keys, more than 128, a key over 128
   *   bytes); {@link WxApiError}; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async removeUserStorage(openid: string, sessionKey: string, keys: readonly string[]): Promise<void> {
    checkStorageKeys('removeUserStorage', keys);
    const body = JSON.stringify({ key: [...keys] });
    await this.sendSignedBody('removeUserStorage', '/wxa/remove_user_storage', openid, sessionKey, body);
  }

  /**
   * Writes a mini game user's interactive data (setuserinteractivedata): keys `"1"` to `"50"`,
   * whole-number values, signed like setUserStorage.
   *
   * @throws {@link WxApiLimitError} before any call (another key, a value that is not a whole
   *   number, no pairs or more than 50); {@link WxApiError} e.g. 87082 (invalid key);
   *   {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async setUserInteractiveData(
    openid: string,
    sessionKey: string,
    entries: readonly WxInteractiveDataEntry[],
  ): Promise<void> {
    checkInteractiveData('setUserInteractiveData', entries);
    const body = JSON.stringify({ kv_list: entries.map(({ key, value }) => ({ key, value })) });
    await this.sendSignedBody(
      'setUserInteractiveData',
      '/wxa/setuserinteractivedata',
      openid,
      sessionKey,
      body,
    );
  }

  /**
   * The unionid of a user who just paid (getpaidunionid), within 5 minutes of the payment.
   *
   * @throws {@link WxApiError} e.g. 89300 (no such trade for this user), 89002 (no Open Platform
   *   binding), 40003; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async getPaidUnionId(openid: string, order: WxPaidOrder): Promise<string> {
    const orderQuery: Record<string, string> =
      'transactionId' in order
        ? { transaction_id: order.transactionId }
        : { mch_id: order.mchId, out_trade_no: order.outTradeNo };
    const answer = await this.sendWithAccessToken('getPaidUnionId', this.newDeadline(), (accessToken) => ({
      operation: 'getPaidUnionId',
      method: 'GET',
      path: '/wxa/getpaidunionid',
      query: { access_token: accessToken, openid, ...orderQuery },
    }));
    return readStringField(answer, 'unionid', 'getPaidUnionId');
  }

  /**
   * Exchanges a `wx.pluginLogin` code for the user's openpid (getpluginopenpid): the same for one
   * user, host mini program and plugin.
   *
   * @throws {@link WxApiError} e.g. 1007 (no openpid: most often a `wx.login` code was sent),
   *   45009; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async getPluginOpenPId(code: string): Promise<string> {
    const answer = await this.sendWithAccessToken('getPluginOpenPId', this.newDeadline(), (accessToken) =>
      jsonPost('getPluginOpenPId', '/wxa/getpluginopenpid', accessToken, { code }),
    );
    return readStringField(answer, 'openpid', 'getPluginOpenPId');
  }

  /**
   * WeChat's risk rank of a user (getuserriskrank). The answer's `unoin_id` is a request id and
   * comes back as `requestId`.
   *
   * @throws {@link WxApiError} e.g. 61010 (no recent visit of the user), 40003;
   *   {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async getUserRiskRank(request: WxUserRiskRankRequest): Promise<WxUserRiskRank> {
    const body: Record<string, unknown> = {
      appid: this.options.appId,
      openid: request.openid,
      scene: request.scene,
      client_ip: request.clientIp,
    };
    if (request.mobileNo !== undefined) body['mobile_no'] = request.mobileNo;
    if (request.emailAddress !== undefined) body['email_address'] = request.emailAddress;
    if (request.extendedInfo !== undefined) body['extended_info'] = request.extendedInfo;
    if (request.isTest !== undefined) body['is_test'] = request.isTest;
    const answer = await this.sendWithAccessToken('getUserRiskRank', this.newDeadline(), (accessToken) =>
      jsonPost('getUserRiskRank', '/wxa/getuserriskrank', accessToken, body),
    );
    return readRiskRank(answer);
  }

  /**
   * Creates a private-message activity id (activityid/create) that only `sharer` may share. Store
   * it with your activity: a recipient's `WxPrivateMessageInfo.activityId` must equal it.
   *
   * @throws {@link WxApiError}; {@link WxApiUnavailableError}; {@link WxApiTimeoutError}
   */
  async createActivityId(sharer: WxActivitySharer): Promise<WxActivityId> {
    const who: Record<string, string> =
      'openid' in sharer ? { openid: sharer.openid } : { unionid: sharer.unionid };
    const answer = await this.sendWithAccessToken('createActivityId', this.newDeadline(), (accessToken) => ({
      operation: 'createActivityId',
      method: 'GET',
      path: '/cgi-bin/message/wxopen/activityid/create',
      query: { access_token: accessToken, ...who },
    }));
    return readActivityId(answer);
  }

  /** A POST signed with the session key over exactly `body`, the bytes then sent. */
  private async sendSignedBody(
    operation: WxApiOperation,
    path: string,
    openid: string,
    sessionKey: string,
    body: string,
  ): Promise<void> {
    await this.sendWithAccessToken(operation, this.newDeadline(), (accessToken) => ({
      operation,
      method: 'POST',
      path,
      query: {
        access_token: accessToken,
        openid,
        signature: sessionKeySignature(sessionKey, body),
        sig_method: 'hmac_sha256',
      },
      body,
    }));
  }

  private newDeadline(): Deadline {
    return new Deadline(this.options.timeoutMs);
  }

  /** The request behind the token cache, with a budget of its own: its callers share it. */
  private async fetchAccessToken(forceRefresh: boolean): Promise<WxFetchedAccessToken> {
    const { appId, appSecret } = this.options;
    const answer = await this.sendWithRetries(
      {
        operation: 'getAccessToken',
        method: 'POST',
        path: '/cgi-bin/stable_token',
        query: {},
        body: {
          grant_type: 'client_credential',
          appid: appId,
          secret: appSecret,
          force_refresh: forceRefresh,
        },
      },
      this.newDeadline(),
    );
    return readAccessToken(answer);
  }

  /**
   * Sends a request that carries the access token; when WeChat rejects the token, replaces it
   * and sends the request once more.
   */
  private async sendWithAccessToken(
    operation: WxApiOperation,
    deadline: Deadline,
    requestWith: (accessToken: string) => WxApiRequest,
  ): Promise<WxJsonObject> {
    const accessToken = await settleWithin(deadline, operation, () => this.accessTokens.get());
    try {
      return await this.sendWithRetries(requestWith(accessToken), deadline);
    } catch (error) {
      if (!(error instanceof WxApiError) || !isAccessTokenRejection(error.errcode)) throw error;
      const replacement = await settleWithin(deadline, operation, () =>
        this.accessTokens.replace(accessToken),
      );
      return this.sendWithRetries(requestWith(replacement), deadline);
    }
  }

  private async sendWithRetries(request: WxApiRequest, deadline: Deadline): Promise<WxJsonObject> {
    const { onCall } = this.options;
    if (onCall === undefined) return this.sendWithRetriesUnobserved(request, deadline);
    const startedAt = performance.now();
    try {
      const answer = await this.sendWithRetriesUnobserved(request, deadline);
      onCall(request.operation, performance.now() - startedAt, 'ok');
      return answer;
    } catch (error) {
      onCall(request.operation, performance.now() - startedAt, wxCallOutcome(error));
      throw error;
    }
  }

  private async sendWithRetriesUnobserved(request: WxApiRequest, deadline: Deadline): Promise<WxJsonObject> {
    const { fetch, apiBaseUrl, maxAttempts, retryDelayMs } = this.options;
    // Ends: every failure either rethrows or pauses and counts an attempt, up to maxAttempts.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await exchangeOnce(fetch, apiBaseUrl, request, deadline, this.layer);
      } catch (error) {
        if (attempt >= maxAttempts || !isRetryableFailure(error)) throw error;
        const delayMs = backoffDelayMs(attempt, retryDelayMs);
        // A pause that would end past the budget only turns a meaningful error into a timeout.
        if (delayMs >= deadline.remainingMs()) throw error;
        await pause(delayMs);
      }
    }
  }
}

function signedSessionKeyRequest(
  operation: WxApiOperation,
  path: string,
  accessToken: string,
  openid: string,
  sessionKey: string,
): WxApiRequest {
  return {
    operation,
    method: 'GET',
    path,
    query: {
      access_token: accessToken,
      openid,
      signature: sessionKeySignature(sessionKey),
      sig_method: 'hmac_sha256',
    },
  };
}

function jsonPost(operation: WxApiOperation, path: string, accessToken: string, body: object): WxApiRequest {
  return { operation, method: 'POST', path, query: { access_token: accessToken }, body };
}

function readCode2Session(answer: WxJsonObject): WxCode2SessionResult {
  const { openid, session_key: sessionKey, unionid } = answer;
  if (!isNonEmptyString(openid)) throw invalidAnswer('code2Session', 'malformed openid');
  if (!isSessionKey(sessionKey)) throw invalidAnswer('code2Session', 'malformed session_key');
  if (unionid === undefined || unionid === '') return { openid, sessionKey };
  if (!isNonEmptyString(unionid)) throw invalidAnswer('code2Session', 'malformed unionid');
  return { openid, sessionKey, unionid };
}

function readAccessToken(answer: WxJsonObject): WxFetchedAccessToken {
  const { access_token: accessToken, expires_in: expiresInSeconds } = answer;
  if (!isNonEmptyString(accessToken)) throw invalidAnswer('getAccessToken', 'malformed access_token');
  if (typeof expiresInSeconds !== 'number' || !(expiresInSeconds > 0) || !Number.isFinite(expiresInSeconds)) {
    throw invalidAnswer('getAccessToken', 'malformed expires_in');
  }
  return { accessToken, expiresInSeconds };
}

function invalidAnswer(operation: WxApiOperation, detail: string): WxApiUnavailableError {
  return new WxApiUnavailableError(operation, 'invalid-response', detail);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A session key as WeChat issues them: canonical base64 of 16 bytes. */
function isSessionKey(value: unknown): value is string {
  return typeof value === 'string' && decodeStrictBase64(value)?.length === 16;
}
