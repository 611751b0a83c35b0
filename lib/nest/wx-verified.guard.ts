import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  checkOpenDataIdentity,
  decryptOpenData,
  readEncryptedEnvelope,
  readSignedRawData,
  verifySignature,
  WxDecryptionError,
  WxMalformedPayloadError,
  WxOpenDataConfigError,
  WxOpenDataError,
  WxSessionNotFoundError,
  WxSignatureError,
  type WxDecryptOptions,
  type WxEncryptedEnvelope,
  type WxSignedRawData,
} from '../core/index.js';
import {
  decryptUserEncrypted,
  readUserEncryptedBody,
  WX_PROVENANCE_MAX_AGE_SECONDS,
  WxProvenanceError,
} from '../api/index.js';
import { toOpenDataPayload, type WxPayloadType } from '../payloads/index.js';
import type { WxActiveSession } from '../session/index.js';
import { waitUntil } from './answer-floor.js';
import { readCallSite, toContextError, type WxCallSite } from './call-site.js';
import type { WxTelemetry } from '../observability/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { WX_TELEMETRY } from './telemetry.provider.js';
import { toWxAnswer } from './http-errors.js';
import type { WxHttpRequest, WxResolvedIdentity } from './options.js';
import { WX_PAYLOAD_TYPE, WX_ROUTE_OPTIONS, type WxRouteOptions } from './route.js';
import { logContext, requestIdOf, userRefOf } from './log-context.js';
import { keepVerifiedCall, type WxVerifiedCall } from './verified-calls.js';
import { WxApiClients } from './wx-api-clients.js';
import { WxSessionService, type WxKeyAttemptTicket } from './wx-session.service.js';

/**
 * A route's metadata as the guard reads it, once per handler.
 *
 * @public
 */
export interface WxRoute {
  /** The DTO of `@WxVerified(Dto)` / `@WxPayload(Dto)`, if any. */
  readonly type: WxPayloadType | undefined;
  readonly options: WxRouteOptions;
}

/**
 * Who the call is from, with the keys that may verify its data.
 *
 * @public
 */
export interface WxCaller {
  readonly session: WxActiveSession;
  /** The session token, when the identity came from one. */
  readonly token: string | undefined;
}

const NO_OPTIONS: WxRouteOptions = Object.freeze({});

/**
 * The one step that verifies a call's open data, in every context: finds the caller (the
 * library's session token, or the app's own identity with `resolveIdentity`), takes the user's
 * key, verifies `rawData`/`signature`, decrypts `encryptedData`/`iv`, checks the watermark and
 * the identity, builds and validates the route's DTO, and accepts the payload once (replay
 * protection). The envelope is read once; the current key and, within the rotation grace, the
 * previous one are tried in one loop. The result is kept for `@WxOpenData()`, `@WxSession()` and
 * `@WxSessionToken()`.
 *
 * `@WxVerified()` puts it on a route. Extend it and override the `protected` hooks to read the
 * call, the token or the identity differently; `@UseGuards(YourGuard)` with `@WxPayload(Dto)`
 * names the DTO.
 *
 * @public
 */
@Injectable()
export class WxVerifiedGuard implements CanActivate {
  protected readonly logger = new Logger('WxOpenData');
  /** Injected as a property, so subclasses keep the constructor they have. */
  @Inject(WX_TELEMETRY) protected readonly telemetry!: WxTelemetry;
  private readonly routes = new WeakMap<object, { readonly owner: object; readonly route: WxRoute }>();
  /** The watermark rules per mini program, built once. */
  private readonly decryptOptions = new Map<string, WxDecryptOptions>();
  private identityMissingLogged = false;

  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) protected readonly config: WxOpenDataConfig,
    protected readonly reflector: Reflector,
    protected readonly sessions: WxSessionService,
    /** Issue 12: for `provenance` and `@WxUserEncrypted()`; optional so subclasses need not pass it. */
    @Optional() protected readonly clients?: WxApiClients,
  ) {
    for (const appId of config.apps.keys()) {
      this.decryptOptions.set(appId, {
        appId,
        maxAgeSeconds: config.watermarkMaxAgeSeconds,
        clockToleranceSeconds: config.clockToleranceSeconds,
      });
    }
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    const route = this.getRoute(context);
    let site: WxCallSite;
    try {
      site = this.readCallSite(context, route.options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.verify(context, site, route);
  }

  /** The route's DTO and options, read from its metadata once per handler. */
  protected getRoute(context: ExecutionContext): WxRoute {
    const handler = context.getHandler();
    const owner = context.getClass();
    const cached = this.routes.get(handler);
    if (cached !== undefined && cached.owner === owner) return cached.route;
    const targets = [handler, owner];
    const route: WxRoute = {
      type: this.reflector.getAllAndOverride<WxPayloadType | undefined>(WX_PAYLOAD_TYPE, targets),
      options:
        this.reflector.getAllAndOverride<WxRouteOptions | undefined>(WX_ROUTE_OPTIONS, targets) ?? NO_OPTIONS,
    };
    this.routes.set(handler, { owner, route });
    return route;
  }

  /** The call behind `context`: headers, body, the holder of the result. See {@link readCallSite}. */
  protected readCallSite(context: ExecutionContext, options: WxRouteOptions): WxCallSite {
    return readCallSite(context, options);
  }

  /**
   * The session token of the call; default: a handshake token, else the module's
   * `getSessionToken` option (given the HTTP request itself over HTTP).
   */
  protected getSessionToken(site: WxCallSite): string | undefined {
    if (site.handshakeToken !== undefined) return site.handshakeToken;
    return this.config.getSessionToken(site.kind === 'http' ? (site.holder as WxHttpRequest) : site);
  }

  /** The app's own identity of the caller; default: the module's `resolveIdentity` option. */
  protected resolveIdentity(
    context: ExecutionContext,
  ): WxResolvedIdentity | undefined | Promise<WxResolvedIdentity | undefined> {
    return this.config.resolveIdentity?.(context);
  }

  /** The whole flow, as one async step; a refusal is thrown as the context's error. */
  private async verify(context: ExecutionContext, site: WxCallSite, route: WxRoute): Promise<boolean> {
    let caller: WxCaller | undefined;
    /** When the key-dependent work began: key-dependent failures answer at this + the floor. */
    let keyWorkStartedAt = -1;
    let attempt: WxKeyAttemptTicket | undefined;
    try {
      const found = await this.findCaller(context, site);
      caller = found;
      const { session, token } = found;
      const where = (): string => this.logWhere(site, found);
      if (route.options.userEncrypted === true) {
        // The user's key budget covers the channel too: its failures are key-dependent like any.
        const openData = await this.openUserEncrypted(site, session, async () => {
          keyWorkStartedAt = performance.now();
          attempt = await this.sessions.takeKeyAttempt(session, token, where);
        });
        const settled = this.sessions.settleKeyAttempt(attempt as WxKeyAttemptTicket, true);
        attempt = undefined;
        await settled;
        return this.accepted(site, { session, token, openData });
      }
      const signed = readSignedRawData(site.body);
      const encrypted = readEncryptedEnvelope(site.body);
      if (encrypted === undefined && route.type !== undefined && route.options.payloadOptional !== true) {
        throw new WxMalformedPayloadError('encryptedData', 'is required');
      }
      let openData: unknown;
      if (signed !== undefined || encrypted !== undefined) {
        keyWorkStartedAt = performance.now();
        // Taken before the key is used at all, on every instance sharing the store.
        attempt = await this.sessions.takeKeyAttempt(session, token, where);
        openData = this.openWithKeys(signed, encrypted, session, route.type);
        const settled = this.sessions.settleKeyAttempt(attempt, true);
        attempt = undefined;
        if (encrypted !== undefined && route.options.provenance === true) {
          await settled;
          // Before the payload is accepted: an unconfirmed one must not use up its replay mark.
          await this.confirmProvenance(session.appId, encrypted.encryptedData);
        }
        if (encrypted === undefined) await settled;
        else await Promise.all([settled, this.sessions.acceptPayload(encrypted, session)]);
      }
      return this.accepted(site, { session, token, openData });
    } catch (error) {
      throw await this.refuse(error, site, attempt, keyWorkStartedAt, caller);
    }
  }

  /** A verified call, whichever way it came: its result kept for the handler, and counted. */
  private accepted(site: WxCallSite, result: WxVerifiedCall): true {
    keepVerifiedCall(site.holder, result);
    this.telemetry.verification('verified', 'ok', site.kind);
    return true;
  }

  // ---- Issue 12: provenance and the encrypted channel ----

  private apiClients(): WxApiClients {
    if (this.clients === undefined) {
      throw new WxOpenDataConfigError(
        [
          'provenance and @WxUserEncrypted() need WxApiClients: import WxOpenDataModule, or pass them to super()',
        ],
        'WxVerifiedGuard',
      );
    }
    return this.clients;
  }

  /** WeChat confirms the ciphertext as its own, at most 3 days old; else the uniform 401. */
  private async confirmProvenance(appId: string, encryptedData: string): Promise<void> {
    const check = await this.apiClients().get(appId).checkEncryptedData(encryptedData);
    const oldest = Math.floor(Date.now() / 1000) - WX_PROVENANCE_MAX_AGE_SECONDS;
    if (!check.valid || check.createdAt === undefined || check.createdAt < oldest)
      throw new WxProvenanceError();
  }

  /** `{ version, ciphertext }` decrypted with the user's encrypt key of that version. */
  private async openUserEncrypted(
    site: WxCallSite,
    session: WxActiveSession,
    keyWorkStarts: () => Promise<void>,
  ): Promise<Record<string, unknown>> {
    const body = readUserEncryptedBody(site.body);
    const clients = this.apiClients();
    const key = await clients.userEncryptKeys.get(
      clients.get(session.appId),
      session.openid,
      session.sessionKey,
      body.version,
    );
    await keyWorkStarts();
    // A version WeChat does not list (or expired) looks like any undecryptable body.
    if (key === undefined) throw new WxDecryptionError();
    return decryptUserEncrypted(body.ciphertext, key);
  }

  /** The token's session, or the app's identity with its stored keys. */
  private async findCaller(context: ExecutionContext, site: WxCallSite): Promise<WxCaller> {
    if (this.config.resolveIdentity === undefined) {
      const token = this.getSessionToken(site);
      return { session: await this.sessions.require(token), token };
    }
    const identity = await this.resolveIdentity(context);
    if (identity === undefined || identity === null) {
      this.logIdentityMissing(site);
      throw new WxSessionNotFoundError('resolveIdentity returned no identity');
    }
    return { session: await this.sessions.requireUser(identity), token: undefined };
  }

  private logIdentityMissing(site: WxCallSite): void {
    if (this.identityMissingLogged) return;
    this.identityMissingLogged = true;
    this.logger.warn(
      `${this.logWhere(site, undefined)} ` +
        'resolveIdentity returned no identity, so @WxVerified() answered 401 WX_SESSION_REQUIRED. ' +
        "If your own auth guard sets the identity (passport's req.user), it must run first: " +
        "list it before @WxVerified() in one @UseGuards(AuthGuard('jwt'), WxVerifiedGuard), or put " +
        "@UseGuards(AuthGuard('jwt')) on the controller. Logged once.",
    );
  }

  /**
   * The signature check and decryption with the current key, then, within the rotation grace,
   * the previous one; then the identity check and the DTO.
   */
  private openWithKeys(
    signed: WxSignedRawData | undefined,
    encrypted: WxEncryptedEnvelope | undefined,
    session: WxActiveSession,
    type: WxPayloadType | undefined,
  ): unknown {
    const previous = session.previousSessionKey;
    let plain = this.openWithKey(signed, encrypted, session, session.sessionKey, previous === undefined);
    if (plain === false) plain = this.openWithKey(signed, encrypted, session, previous as string, true);
    if (plain === undefined || plain === false) return undefined;
    checkOpenDataIdentity(plain, session);
    return type === undefined ? plain : toOpenDataPayload(type, plain);
  }

  /** One key: the plain payload, `undefined` when only rawData came, `false` to try the next key. */
  private openWithKey(
    signed: WxSignedRawData | undefined,
    encrypted: WxEncryptedEnvelope | undefined,
    session: WxActiveSession,
    sessionKey: string,
    last: boolean,
  ): Record<string, unknown> | undefined | false {
    if (signed !== undefined && !verifySignature(signed.rawData, signed.signature, sessionKey)) {
      if (last) throw new WxSignatureError();
      return false;
    }
    if (encrypted === undefined) return undefined;
    try {
      return decryptOpenData(
        { encryptedData: encrypted.encryptedData, iv: encrypted.iv, sessionKey },
        // Sessions of mini programs not served never get here (require/requireUser refuse them);
        // should one, its watermark must still name its own mini program.
        this.decryptOptions.get(session.appId) ?? {
          ...this.decryptOptions.values().next().value,
          appId: session.appId,
        },
      );
    } catch (error) {
      if (last || !(error instanceof WxDecryptionError)) throw error;
      return false;
    }
  }

  /** The call as its log lines name it: route, request id and, once known, a user reference. */
  private logWhere(site: WxCallSite, caller: WxCaller | undefined): string {
    const requestId = requestIdOf(site.headers, site.holder);
    const app = caller === undefined ? undefined : this.config.apps.get(caller.session.appId);
    const userRef =
      app === undefined || caller === undefined ? undefined : userRefOf(app.appSecret, caller.session.openid);
    return logContext(site.where, requestId, userRef);
  }

  /**
   * What to throw for `error`: a library error becomes the context's answer, anything else is
   * thrown as it is. A key-dependent failure settles the attempt as failed first (a failure
   * that cannot be settled is the store's 503, its reason still logged), and answers no sooner
   * than the floor after the key work began.
   */
  private async refuse(
    error: unknown,
    site: WxCallSite,
    attempt: WxKeyAttemptTicket | undefined,
    keyWorkStartedAt: number,
    caller: WxCaller | undefined,
  ): Promise<unknown> {
    const where = this.logWhere(site, caller);
    let answered = error;
    const keyDependent = error instanceof WxOpenDataError && error.keyDependent;
    if (attempt !== undefined) {
      try {
        await this.sessions.settleKeyAttempt(attempt, !keyDependent);
      } catch (settleError) {
        if (error instanceof WxOpenDataError) toWxAnswer(error, this.logger, where);
        answered = settleError;
      }
    }
    // Everything that depends on the reason (its log line, whose text differs by reason, the
    // metric, the answer) is done before the floor: after it, every key-dependent failure only
    // hands over the same prepared answer, so no reason's extra work shows in the timing.
    let thrown = answered;
    if (answered instanceof WxOpenDataError) {
      const answer = toWxAnswer(answered, this.logger, where);
      this.telemetry.verification('rejected', answer.body.code, site.kind);
      thrown = toContextError(site, answer);
    }
    if (keyDependent && keyWorkStartedAt >= 0)
      await waitUntil(keyWorkStartedAt + this.config.keyFailureFloorMs);
    return thrown;
  }
}
