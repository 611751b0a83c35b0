import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { WxOpenDataConfigError } from '../core/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';

/**
 * Connects the session store before the app serves requests, and closes it at shutdown when the
 * module built it (`redis` option). A store that cannot be reached at start-up does not stop the
 * app: requests answer 503 until it is back, and it keeps trying by itself. A store that cannot
 * work at all (a missing optional peer, a {@link WxOpenDataConfigError}) stops the boot.
 *
 * @internal
 */
@Injectable()
export class WxSessionStoreLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('WxOpenData');

  constructor(@Inject(WX_OPEN_DATA_CONFIG) private readonly config: WxOpenDataConfig) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.config.sessionStore.connect();
    } catch (error) {
      if (error instanceof WxOpenDataConfigError) throw error;
      this.logger.warn(
        `session store not reachable at start-up (${(error as Error).message}): guarded routes answer 503 until it is`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // After the HTTP server closed: no request is still using the store.
    if (this.config.ownsSessionStore) await this.config.sessionStore.close();
  }
}
