import { Module } from '@nestjs/common';
import { WxApiClient } from '../api/index.js';
import { WxSessionStore } from '../session/index.js';
import { WxContextPeers } from './context-peers.js';
import { resolveWxOpenDataModuleConfig, WX_OPEN_DATA_CONFIG } from './config.js';
import {
  measuredStoreProvider,
  sessionStoreProvider,
  telemetryProvider,
  WX_TELEMETRY,
} from './telemetry.provider.js';
import { ConfigurableModuleClass, WX_OPEN_DATA_MODULE_OPTIONS } from './module-definition.js';
import type { WxOpenDataModuleOptions } from './options.js';
import { WxSessionStoreLifecycle } from './session-store-lifecycle.js';
import { WxApiClients } from './wx-api-clients.js';
import { WxPhoneNumbers } from './wx-phone-numbers.service.js';
import { WxSessionService } from './wx-session.service.js';
import { WxVerifiedGuard } from './wx-verified.guard.js';

/**
 * Trust WeChat mini program open data in a Nest app.
 *
 * ```ts
 * WxOpenDataModule.forRoot({ appId: 'wx…', appSecret: process.env.WX_APP_SECRET, isGlobal: true })
 * ```
 *
 * Provides {@link WxSessionService} (login, sessions), {@link WxSessionStore},
 * {@link WxApiClient} (the first mini program's) and {@link WxApiClients} (all of them),
 * and {@link WxVerifiedGuard}, which `@WxVerified()` puts on a route. The session store is connected at start-up; one the module built from
 * the `redis` option is closed at shutdown.
 *
 * @public
 */
@Module({
  providers: [
    {
      provide: WX_OPEN_DATA_CONFIG,
      useFactory: (options: WxOpenDataModuleOptions) => resolveWxOpenDataModuleConfig(options),
      inject: [WX_OPEN_DATA_MODULE_OPTIONS],
    },
    telemetryProvider,
    sessionStoreProvider,
    measuredStoreProvider,
    WxApiClients,
    { provide: WxApiClient, useFactory: (clients: WxApiClients) => clients.get(), inject: [WxApiClients] },
    WxSessionService,
    WxPhoneNumbers,
    WxVerifiedGuard,
    WxSessionStoreLifecycle,
    WxContextPeers,
  ],
  exports: [
    WX_OPEN_DATA_CONFIG,
    WX_TELEMETRY,
    WxSessionStore,
    WxApiClients,
    WxApiClient,
    WxSessionService,
    WxPhoneNumbers,
    WxVerifiedGuard,
  ],
})
export class WxOpenDataModule extends ConfigurableModuleClass {}
