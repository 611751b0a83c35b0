import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  errorAnswer,
  fakeError,
  garbageAnswer,
  htmlBadGatewayAnswer,
  type FakeAnswer,
} from './fake-wechat-answers.js';
import { parseJsonObject } from '../../core/json.js';
import {
  FakeWeChatModel,
  type FakePhoneNumberSpec,
  type FakeWeChatApp,
  type FakeWeChatUser,
  type FakeWeChatUserSpec,
} from './fake-wechat-model.js';
import { WX_API_SECURITY_ENDPOINTS } from '../../api/security/api-security-options.js';
import { FakeApiSecurityGate, type FakeAnswerTampering } from './fake-wechat-security.js';
import {
  FakeWeChatMoreApis,
  type FakePaymentSpec,
  type FakeUserEncryptKey,
} from './fake-wechat-more-apis.js';

/**
 * The WeChat endpoints the fake answers.
 *
 * @public
 */
export type FakeWeChatEndpoint =
  | '/sns/jscode2session'
  | '/cgi-bin/token'
  | '/cgi-bin/stable_token'
  | '/wxa/checksession'
  | '/wxa/resetusersessionkey'
  | '/wxa/business/getuserphonenumber'
  | '/wxa/business/checkencryptedmsg'
  | '/wxa/business/getuserencryptkey'
  | '/wxa/set_user_storage'
  | '/wxa/remove_user_storage'
  | '/wxa/setuserinteractivedata'
  | '/wxa/getpaidunionid'
  | '/wxa/getpluginopenpid'
  | '/wxa/getuserriskrank'
  | '/cgi-bin/message/wxopen/activityid/create';

/**
 * How the fake behaves, for fault tests:
 * - `normal`: answers as WeChat does;
 * - `busy`: every request gets `errcode` -1 (system busy);
 * - `slow`: answers as usual, but only after `delayMs`;
 * - `refuse`: stops listening and drops open connections, so connecting fails (ECONNREFUSED);
 * - `reset`: accepts connections and closes them at once, before any request is read;
 * - `html`: HTTP 502 with an HTML error page, as a gateway in front of WeChat would;
 * - `garbage`: HTTP 200 declared as JSON, with a body that is not JSON.
 *
 * @public
 */
export type FakeWeChatMode = 'normal' | 'busy' | 'slow' | 'refuse' | 'reset' | 'html' | 'garbage';

/**
 * A WeChat error to answer with.
 *
 * @public
 */
export interface FakeWeChatFault {
  errcode: number;
  /** Default `injected fault`. */
  errmsg?: string;
}

/**
 * Settings of {@link FakeWeChatServer}.
 *
 * @public
 */
export interface FakeWeChatServerOptions {
  /** The mini programs the fake knows; helper calls without an appId mean the first one. */
  apps: readonly FakeWeChatApp[];
  /** Wall clock in milliseconds, for code expiry, token expiry, rate limits and watermarks. Default `Date.now`. */
  now?: () => number;
  /** How long login and phone codes stay valid. Default 5 minutes, as WeChat. */
  codeTtlMs?: number;
  /** Lifetime of access tokens in seconds. Default 7200, as WeChat. */
  accessTokenTtlSeconds?: number;
  /** code2Session calls per user and minute before 45011. Default 100, as WeChat. */
  loginsPerMinute?: number;
}

/** Request bodies WeChat accepts are tiny; a bigger one is a test bug, not a load test. */
const MAX_REQUEST_BODY_BYTES = 64 * 1024;
const DEFAULT_SLOW_DELAY_MS = 1000;
const LOOPBACK = '127.0.0.1';
/** Time for in-process clients to notice closed connections; a few ms suffice on loopback. */
const CLIENT_SETTLE_MS = 20;

/**
 * A fake WeChat server API on a loopback port, faithful to WeChat's shapes and error codes: for
 * this library's tests and for its users' own.
 *
 * Login rotates keys as WeChat does: every successful code2Session installs a new session key
 * for the user (the one passed to {@link issueCode} as `sessionKey`, else a fresh random one)
 * and answers with it; from then on only that key passes checksession. Issuing a code changes
 * nothing but creates the user if needed. A code is single use (40163 the second time), expires
 * after 5 minutes (40029), and belongs to one app (40029 for another).
 *
 * An app configured with `apiSecurity` (keys from `createApiSecurityTestKeys`) is in WeChat's API
 * security mode: on the endpoints that support it, the fake checks each request as WeChat's
 * security layer does (headers 40231 to 40233, app 40236/40237, a timestamp more than 300 s off
 * 40240, the RSA-PSS signature 40234, the AES-256-GCM envelope 40235; `Wechatmp-Serial` is not
 * required, as field reports say of WeChat), then encrypts and signs its answer;
 * {@link tamperNextAnswer} spoils one.
 *
 * @example
 * ```ts
 * const wechat = new FakeWeChatServer({ apps: [{ appId, appSecret }] });
 * const apiBaseUrl = await wechat.start();
 * const code = wechat.issueCode({ openid: 'o-test-user' });
 * // ... log in with `code` through the app under test, configured with apiBaseUrl ...
 * await wechat.stop();
 * ```
 * @public
 */
export class FakeWeChatServer {
  private readonly model: FakeWeChatModel;
  private readonly more: FakeWeChatMoreApis;
  private readonly server: Server;
  private readonly counts = new Map<string, number>();
  private readonly faults = new Map<string, FakeWeChatFault[]>();
  private readonly tamperings = new Map<string, FakeAnswerTampering[]>();
  private readonly security: FakeApiSecurityGate;
  private readonly pendingDelays = new Set<NodeJS.Timeout>();
  private mode: FakeWeChatMode = 'normal';
  private slowDelayMs = DEFAULT_SLOW_DELAY_MS;
  private port: number | undefined;
  private listening = false;

  constructor(options: FakeWeChatServerOptions) {
    this.model = new FakeWeChatModel({
      apps: options.apps,
      now: options.now ?? Date.now,
      codeTtlMs: options.codeTtlMs ?? 5 * 60_000,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 7200,
      loginsPerMinute: options.loginsPerMinute ?? 100,
    });
    this.security = new FakeApiSecurityGate(options.apps, options.now ?? Date.now);
    const model = this.model;
    this.more = new FakeWeChatMoreApis({
      now: options.now ?? Date.now,
      codeTtlMs: options.codeTtlMs ?? 5 * 60_000,
      checkAccessToken: (value) => model.checkAccessToken(value),
      checkSignedUserRequest: (query, message) => model.checkSignedUserRequest(query, message),
      findUser: (openid, appId) => model.findUser(openid, appId),
    });
    this.server = createServer((request, response) => this.handle(request, response));
    this.server.on('connection', (socket: Socket) => {
      if (this.mode === 'reset') socket.destroy();
    });
  }

  /** `http://127.0.0.1:<port>`, the `apiBaseUrl` to give the client. */
  get baseUrl(): string {
    if (this.port === undefined) throw new Error('FakeWeChatServer: not started');
    return `http://${LOOPBACK}:${this.port}`;
  }

  /**
   * Listens on a random loopback port.
   *
   * @returns the base URL
   */
  async start(): Promise<string> {
    if (this.port !== undefined) throw new Error('FakeWeChatServer: already started (start it once)');
    await this.listen(0);
    this.port = (this.server.address() as AddressInfo).port;
    return this.baseUrl;
  }

  /** Closes every connection and stops listening for good; pending slow answers are dropped. */
  async stop(): Promise<void> {
    for (const timer of this.pendingDelays) clearTimeout(timer);
    this.pendingDelays.clear();
    await this.closeListener();
  }

  /**
   * Mints a single-use login code, as `wx.login` yields, for a user of `appId` (default: the
   * first app), creating the user when unknown. The key rotates when the code is redeemed.
   */
  issueCode(user: FakeWeChatUserSpec = {}, appId?: string): string {
    return this.model.issueCode(user, this.model.resolveAppId(appId));
  }

  /** Mints a single-use code for getuserphonenumber, as the phone-number button yields. */
  issuePhoneCode(phone: FakePhoneNumberSpec = {}, appId?: string): string {
    return this.model.issuePhoneCode(phone, this.model.resolveAppId(appId));
  }

  /** The user's session key that WeChat currently accepts, or `undefined` for an unknown user. */
  currentSessionKey(openid: string, appId?: string): string | undefined {
    return this.findUser(openid, appId)?.sessionKey;
  }

  /** A user as the fake stores them, or `undefined`. */
  findUser(openid: string, appId?: string): FakeWeChatUser | undefined {
    return this.model.findUser(openid, this.model.resolveAppId(appId));
  }

  // ---- The less common APIs (issue 12) ----

  /**
   * Remembers `encryptedData` as produced by WeChat now, for checkencryptedmsg (which confirms it
   * for 3 days). `MiniProgramClient.getPhoneNumber` calls it.
   */
  recordEncryptedData(encryptedData: string, appId?: string): void {
    this.more.recordEncryptedData(encryptedData, this.model.resolveAppId(appId));
  }

  /**
   * The user's latest encrypt key, as `getLatestUserKey` yields it: a new one (next version) when
   * the newest has expired; each lives an hour and getuserencryptkey lists the last three.
   */
  latestUserEncryptKey(openid: string, appId?: string): FakeUserEncryptKey {
    return this.more.latestUserEncryptKey(openid, this.model.resolveAppId(appId));
  }

  /** What setUserStorage stored for the user. */
  userStorage(openid: string, appId?: string): ReadonlyMap<string, string> {
    return this.more.userStorage(openid, this.model.resolveAppId(appId));
  }

  /** What setUserInteractiveData stored for the user. */
  interactiveData(openid: string, appId?: string): ReadonlyMap<string, number> {
    return this.more.interactiveData(openid, this.model.resolveAppId(appId));
  }

  /** Records a payment now, for getpaidunionid (answers for 5 minutes); returns its transaction id. */
  recordPayment(payment: FakePaymentSpec, appId?: string): string {
    return this.more.recordPayment(payment, this.model.resolveAppId(appId));
  }

  /** Mints a single-use `wx.pluginLogin` code of the user, for getpluginopenpid. */
  issuePluginCode(openid: string, appId?: string): string {
    return this.more.issuePluginCode(openid, this.model.resolveAppId(appId));
  }

  /** Sets the risk rank getuserriskrank answers for the user (default 0). */
  setRiskRank(openid: string, rank: 0 | 1 | 2 | 3 | 4, appId?: string): void {
    this.more.setRiskRank(openid, this.model.resolveAppId(appId), rank);
  }

  /** Who may share an activity id activityid/create issued, or `undefined`. */
  findActivity(activityId: string): { appId: string; openid?: string; unionid?: string } | undefined {
    return this.more.findActivity(activityId);
  }

  /** Requests received on `endpoint` (any path) since start or {@link resetRequestCounts}, faults included. */
  requestCount(endpoint: FakeWeChatEndpoint | string): number {
    return this.counts.get(endpoint) ?? 0;
  }

  /** Sets every request count back to 0. */
  resetRequestCounts(): void {
    this.counts.clear();
  }

  /** How many stable_token requests asked for `force_refresh: true`. */
  forcedTokenRefreshCount(): number {
    return this.model.forcedRefreshCount();
  }

  /**
   * Answers the next `times` requests to `endpoint` with `fault` instead of handling them (after
   * the mode's own faults: a busy server answers -1 first).
   */
  failNext(endpoint: FakeWeChatEndpoint, fault: FakeWeChatFault, times = 1): void {
    const queue = this.faults.get(endpoint) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(fault);
    this.faults.set(endpoint, queue);
  }

  /**
   * Spoils the next `times` answers to `endpoint`, a call protected by the API security mode
   * (see {@link FakeAnswerTampering}); the request itself is handled as usual.
   */
  tamperNextAnswer(endpoint: FakeWeChatEndpoint, tampering: FakeAnswerTampering, times = 1): void {
    const queue = this.tamperings.get(endpoint) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(tampering);
    this.tamperings.set(endpoint, queue);
  }

  /** Drops faults queued by {@link failNext} and tamperings queued by {@link tamperNextAnswer}. */
  clearFaults(): void {
    this.faults.clear();
    this.tamperings.clear();
  }

  /**
   * Switches the behaviour, see {@link FakeWeChatMode}. Await it when entering or leaving
   * `refuse`, which closes or reopens the listening socket (on the same port).
   */
  async setMode(mode: FakeWeChatMode, options: { delayMs?: number } = {}): Promise<void> {
    const wasRefusing = this.mode === 'refuse';
    this.mode = mode;
    this.slowDelayMs = options.delayMs ?? DEFAULT_SLOW_DELAY_MS;
    if (this.port === undefined) return;
    // Kept-alive connections would otherwise go on being served, without a new 'connection'.
    if (mode === 'reset') this.server.closeAllConnections();
    if (mode === 'refuse' && !wasRefusing) await this.closeListener();
    if (mode !== 'refuse' && wasRefusing) await this.listen(this.port);
  }

  /** Makes every access token issued so far invalid (40001), as after a refresh elsewhere. */
  expireAccessTokens(): void {
    this.model.expireAccessTokens();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, LOOPBACK, () => {
        this.server.off('error', onError);
        this.listening = true;
        resolve();
      });
    });
  }

  private closeListener(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => {
      // Resolve a little later, once clients in this process have seen their pooled connections
      // close; otherwise their next request may pick a dead pooled socket and fail with "other
      // side closed" instead of being refused.
      this.server.close(() => setTimeout(resolve, CLIENT_SETTLE_MS));
      // Keep-alive connections would otherwise keep serving, and keep close() waiting.
      this.server.closeAllConnections();
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', `http://${LOOPBACK}`);
    this.counts.set(url.pathname, (this.counts.get(url.pathname) ?? 0) + 1);
    readBody(request).then(
      (body) =>
        this.answerAfterDelay(response, () => this.answer(request.method, url, body, request.headers)),
      () => response.destroy(),
    );
  }

  private answerAfterDelay(response: ServerResponse, answer: () => FakeAnswer): void {
    if (this.mode !== 'slow') {
      send(response, answer());
      return;
    }
    const timer = setTimeout(() => {
      this.pendingDelays.delete(timer);
      send(response, answer());
    }, this.slowDelayMs);
    this.pendingDelays.add(timer);
  }

  private answer(
    method: string | undefined,
    url: URL,
    body: string,
    headers: IncomingHttpHeaders,
  ): FakeAnswer {
    if (this.mode === 'busy') return fakeError('busy');
    if (this.mode === 'html') return htmlBadGatewayAnswer();
    if (this.mode === 'garbage') return garbageAnswer();
    const fault = this.faults.get(url.pathname)?.shift();
    if (fault !== undefined) return errorAnswer(fault.errcode, fault.errmsg ?? 'injected fault');
    const query = Object.fromEntries(url.searchParams);
    const appId = headers['wechatmp-appid'] ?? this.model.appIdOfAccessToken(query['access_token']);
    const protectedPaths: readonly string[] = WX_API_SECURITY_ENDPOINTS;
    if (!protectedPaths.includes(url.pathname) || !this.security.protects(String(appId))) {
      return this.route(method, url, query, body);
    }
    // The API security mode: WeChat's security layer first, then the endpoint on the plaintext.
    const tokenAppId = this.model.appIdOfAccessToken(query['access_token']);
    const opened = this.security.open(`${this.baseUrl}${url.pathname}`, headers, body, tokenAppId);
    if ('answer' in opened) return opened.answer;
    const answer = this.route(method, url, query, opened.plaintext);
    return opened.seal(answer, this.tamperings.get(url.pathname)?.shift());
  }

  private route(
    method: string | undefined,
    url: URL,
    query: Record<string, string>,
    body: string,
  ): FakeAnswer {
    switch (url.pathname as FakeWeChatEndpoint) {
      case '/sns/jscode2session':
        return this.model.code2Session(query);
      case '/cgi-bin/token':
        return this.model.plainAccessToken(query);
      case '/cgi-bin/stable_token':
        return this.withJsonBody(method, body, (json) => this.model.stableAccessToken(json));
      case '/wxa/checksession':
        return this.model.checkSession(query);
      case '/wxa/resetusersessionkey':
        return this.model.resetUserSessionKey(query);
      case '/wxa/business/getuserphonenumber':
        return this.withJsonBody(method, body, (json) => this.model.phoneNumber(query, json));
      case '/wxa/business/checkencryptedmsg':
        return this.withJsonBody(method, body, (json) => this.more.checkEncryptedMsg(query, json));
      case '/wxa/business/getuserencryptkey':
        // The current page says GET, older ones POST with the same query: both are accepted.
        return this.more.getUserEncryptKey(query);
      case '/wxa/set_user_storage':
        return this.withJsonBody(method, body, (json) => this.more.setUserStorage(query, json, body));
      case '/wxa/remove_user_storage':
        return this.withJsonBody(method, body, (json) => this.more.removeUserStorage(query, json, body));
      case '/wxa/setuserinteractivedata':
        return this.withJsonBody(method, body, (json) => this.more.setUserInteractiveData(query, json, body));
      case '/wxa/getpaidunionid':
        return this.more.getPaidUnionId(query);
      case '/wxa/getpluginopenpid':
        return this.withJsonBody(method, body, (json) => this.more.getPluginOpenPId(query, json));
      case '/wxa/getuserriskrank':
        return this.withJsonBody(method, body, (json) => this.more.getUserRiskRank(query, json));
      case '/cgi-bin/message/wxopen/activityid/create':
        return this.more.createActivityId(query);
      default:
        return fakeError('invalidUrl');
    }
  }

  /** WeChat's POST endpoints read a JSON object whatever the content type says; a form body is 47001. */
  private withJsonBody(
    method: string | undefined,
    body: string,
    handle: (json: Readonly<Record<string, unknown>>) => FakeAnswer,
  ): FakeAnswer {
    if (method !== 'POST') return fakeError('requirePost');
    if (body === '') return fakeError('emptyBody');
    const json = parseJsonObject(body);
    return json === undefined ? fakeError('dataFormat') : handle(json);
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        reject(new Error('request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, answer: FakeAnswer): void {
  // The client may have given up (a timeout) while a slow answer was pending.
  if (response.destroyed || response.writableEnded) return;
  response.writeHead(answer.status, {
    ...answer.headers,
    'content-type': answer.contentType,
    'content-length': Buffer.byteLength(answer.body),
  });
  response.end(answer.body);
}
