import { Inject, Injectable } from '@nestjs/common';
import { WxApiUnavailableError } from '../api/index.js';
import { checkWatermark, WxOpenDataError } from '../core/index.js';
import { toOpenDataPayload, WxPhoneNumber } from '../payloads/index.js';
import type { WxSessionInfo } from '../session/index.js';
import { WX_OPEN_DATA_CONFIG, type WxOpenDataConfig } from './config.js';
import { WxApiClients } from './wx-api-clients.js';

/**
 * The current phone-number flow: the mini program's `getPhoneNumber` button yields a code, and
 * WeChat exchanges it (getuserphonenumber) for the number. The old flow, `encryptedData` + `iv`,
 * goes through `@WxVerified(WxPhoneNumber)` like any other payload.
 *
 * @public
 */
@Injectable()
export class WxPhoneNumbers {
  constructor(
    @Inject(WX_OPEN_DATA_CONFIG) private readonly config: WxOpenDataConfig,
    private readonly clients: WxApiClients,
  ) {}

  /**
   * Exchanges a phone-number code for the session's user, and validates WeChat's answer like a
   * decrypted payload: the {@link WxPhoneNumber} rules, and a watermark of the session's mini
   * program within the freshness window.
   *
   * @throws {@link WxApiError} when WeChat refuses the code; {@link WxApiUnavailableError} when its
   *   answer is not a valid phone number; {@link WxApiTimeoutError}
   */
  async fromCode(code: string, session: WxSessionInfo): Promise<WxPhoneNumber> {
    const info = await this.clients.get(session.appId).getPhoneNumber(code, session.openid);
    try {
      const phone = toOpenDataPayload(WxPhoneNumber, info);
      checkWatermark(info['watermark'], {
        appId: session.appId,
        maxAgeSeconds: this.config.watermarkMaxAgeSeconds,
        clockToleranceSeconds: this.config.clockToleranceSeconds,
      });
      return phone;
    } catch (error) {
      // WeChat's own answer is malformed: an upstream fault, not the client's key.
      if (error instanceof WxOpenDataError)
        throw new WxApiUnavailableError('getPhoneNumber', 'invalid-response');
      throw error;
    }
  }
}
