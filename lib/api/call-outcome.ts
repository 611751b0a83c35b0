import { WxApiError, WxApiTimeoutError, WxApiUnavailableError } from './errors.js';

/**
 * How a failed WeChat call ended, in words fit for a metric attribute: the errcode, `timeout`,
 * the unavailability reason, or `error`. Never the error's message.
 *
 * @internal
 */
export function wxCallOutcome(error: unknown): string {
  if (error instanceof WxApiError) return String(error.errcode);
  if (error instanceof WxApiTimeoutError) return 'timeout';
  if (error instanceof WxApiUnavailableError) return error.reason;
  return 'error';
}
