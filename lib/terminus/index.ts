import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { WxAccessTokenStatus } from '../api/index.js';
import { WxApiClients } from '../nest/wx-api-clients.js';
import { WxSessionStore } from '../session/index.js';

/**
 * What {@link WxOpenDataHealthIndicator} reports beside `status`.
 *
 * @public
 */
export interface WxOpenDataHealthDetails {
  /** Whether the session store answered a ping just now. */
  readonly sessionStore: 'up' | 'down';
  /** Each mini program's access token as this instance holds it (never the token itself). */
  readonly accessTokens: Readonly<Record<string, WxAccessTokenStatus>>;
}

/**
 * A `@nestjs/terminus` health indicator: down while the session store does not answer (every
 * guarded request on this instance answers 503 then), or while a mini program's access token
 * could not be fetched and none is held; up otherwise. Access tokens are fetched on first use, so
 * `absent` and `due` are healthy.
 *
 * ```ts
 * @Controller('health')
 * export class HealthController {
 *   constructor(
 *     private readonly health: HealthCheckService,
 *     private readonly wx: WxOpenDataHealthIndicator,
 *   ) {}
 *
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.wx.isHealthy('wechat')]);
 *   }
 * }
 * ```
 *
 * Provide it in a module that imports `TerminusModule` and sees `WxOpenDataModule`'s exports.
 *
 * @public
 */
@Injectable()
export class WxOpenDataHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly store: WxSessionStore,
    private readonly clients: WxApiClients,
  ) {}

  /** Pings the session store and reads each access token's state; `key` names the result. */
  async isHealthy(key = 'wx_open_data'): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const sessionStore = await this.store.ping().then(
      () => 'up' as const,
      () => 'down' as const,
    );
    const accessTokens: Record<string, WxAccessTokenStatus> = {};
    for (const client of this.clients.all()) accessTokens[client.appId] = client.accessTokenStatus();
    const details: WxOpenDataHealthDetails = { sessionStore, accessTokens };
    const healthy = sessionStore === 'up' && !Object.values(accessTokens).includes('failing');
    return healthy ? indicator.up({ ...details }) : indicator.down({ ...details });
  }
}
