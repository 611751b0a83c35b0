import { Logger, type Provider } from '@nestjs/common';
import { NO_TELEMETRY, type WxTelemetry } from '../observability/index.js';
import { loadOpenTelemetry } from '../observability/telemetry.js';
import { instrumentStore } from '../observability/instrumented-store.js';
import { WxSessionStore } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, WxOpenDataConfigError, type WxOpenDataConfig } from './config.js';

/** Injection token of the module's {@link WxTelemetry}. @internal */
export const WX_TELEMETRY = Symbol('WX_TELEMETRY');

/** The telemetry the `metrics` option asks for, loaded once at boot. @internal */
export const telemetryProvider: Provider = {
  provide: WX_TELEMETRY,
  inject: [WX_OPEN_DATA_CONFIG],
  useFactory: async ({ metrics }: WxOpenDataConfig): Promise<WxTelemetry> => {
    if (metrics === false) return NO_TELEMETRY;
    try {
      return await loadOpenTelemetry();
    } catch (error) {
      if (metrics === true) throw new WxOpenDataConfigError([(error as Error).message]);
      new Logger('WxOpenData').debug('metrics off: @opentelemetry/api is not installed');
      return NO_TELEMETRY;
    }
  },
};

/**
 * Injection token of the session store as the library itself calls it: with each operation
 * measured when metrics are on. `WxSessionStore` stays the store the app configured, the very
 * instance it passed. @internal
 */
export const WX_MEASURED_STORE = Symbol('WX_MEASURED_STORE');

/** The measured store, see {@link WX_MEASURED_STORE}. @internal */
export const measuredStoreProvider: Provider = {
  provide: WX_MEASURED_STORE,
  inject: [WX_OPEN_DATA_CONFIG, WX_TELEMETRY],
  useFactory: (config: WxOpenDataConfig, telemetry: WxTelemetry): WxSessionStore =>
    telemetry === NO_TELEMETRY ? config.sessionStore : instrumentStore(config.sessionStore, telemetry),
};

/** The app's session store, as configured. @internal */
export const sessionStoreProvider: Provider = {
  provide: WxSessionStore,
  inject: [WX_OPEN_DATA_CONFIG],
  useFactory: (config: WxOpenDataConfig): WxSessionStore => config.sessionStore,
};
