import { Inject, Injectable, Logger } from '@nestjs/common';
import { WxApiClient, WxUserEncryptKeys } from '../api/index.js';
import { WxMalformedPayloadError } from '../core/index.js';
import { NO_TELEMETRY, type WxTelemetry } from '../observability/index.js';
import { WxSessionStore } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { WX_MEASURED_STORE, WX_TELEMETRY } from './telemetry.provider.js';

/**
 * One {@link WxApiClient} per configured mini program. Their access tokens live in the session
 * store, shared by every instance that uses it. With a single mini program, inject `WxApiClient`
 * itself.
 *
 * @public
 */
@Injectable()
export class WxApiClients {
  private readonly clients = new Map<string, WxApiClient>();
  private readonly logger = new Logger('WxOpenData');
  /** Users' encrypt keys for `@WxUserEncrypted()`, by version, until they expire. */
  readonly userEncryptKeys = new WxUserEncryptKeys();

  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) private readonly config: WxOpenDataConfig,
    @Inject(WX_MEASURED_STORE) store: WxSessionStore,
    @Inject(WX_TELEMETRY) telemetry: WxTelemetry,
  ) {
    const onCall = telemetry === NO_TELEMETRY ? undefined : telemetry.wechatCall;
    for (const app of config.apps.values()) {
      this.clients.set(
        app.appId,
        new WxApiClient({
          appId: app.appId,
          appSecret: app.appSecret,
          apiBaseUrl: config.apiBaseUrl,
          timeoutMs: config.apiTimeoutMs,
          // The fleet's token: every instance sharing the store uses one, refreshed once for all.
          accessTokenStore: store,
          ...(onCall === undefined ? {} : { onCall }),
          ...(app.apiSecurity === undefined
            ? {}
            : { apiSecurity: { onWarning: (message) => this.logger.warn(message), ...app.apiSecurity } }),
        }),
      );
    }
  }

  /** Every configured mini program's client, in the order they were configured. */
  all(): readonly WxApiClient[] {
    return [...this.clients.values()];
  }

  /**
   * The client of `appId`, default the first configured mini program.
   *
   * @throws {@link WxMalformedPayloadError} (a 400 naming `appId`, never its value) when `appId`
   *   is not a mini program this module serves
   */
  get(appId: string = this.config.defaultAppId): WxApiClient {
    const client = this.clients.get(appId);
    if (client === undefined)
      throw new WxMalformedPayloadError('appId', 'is not a mini program this server serves');
    return client;
  }
}
