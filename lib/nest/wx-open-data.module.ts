import { Module } from '@nestjs/common';
import { WxApiClient } from '../api/index.js';
import { WxSessionStore } from '../session/index.js';
import { resolveWxOpenDataConfig, WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { ConfigurableModuleClass, WX_OPEN_DATA_MODULE_OPTIONS } from './module-definition.js';
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
      useFactory: resolveWxOpenDataConfig,
      inject: [WX_OPEN_DATA_MODULE_OPTIONS],
    },
    {
      provide: WxSessionStore,
      useFactory: (config: WxOpenDataConfig) => config.sessionStore,
      inject: [WX_OPEN_DATA_CONFIG],
    },
    WxApiClients,
    { provide: WxApiClient, useFactory: (clients: WxApiClients) => clients.get(), inject: [WxApiClients] },
    WxSessionService,
    WxPhoneNumbers,
    WxVerifiedGuard,
    WxSessionStoreLifecycle,
  ],
  exports: [
    WX_OPEN_DATA_CONFIG,
    WxSessionStore,
    WxApiClients,
    WxApiClient,
    WxSessionService,
    WxPhoneNumbers,
    WxVerifiedGuard,
  ],
})
export class WxOpenDataModule extends ConfigurableModuleClass {}
