import { performance } from 'node:perf_hooks';
import { WxApiTimeoutError, type WxApiOperation } from './errors.js';

/**
 * The time budget of one public call of {@link WxApiClient}: every attempt, backoff pause, token
 * fetch and retry after a token refresh of that call fits in it. Measured on the monotonic clock,
 * since it drives real timers.
 *
 * @internal
 */
export class Deadline {
  private readonly expiresAt: number;

  constructor(readonly timeoutMs: number) {
    this.expiresAt = performance.now() + timeoutMs;
  }

  /** Milliseconds left, 0 once expired. */
  remainingMs(): number {
    return Math.max(0, this.expiresAt - performance.now());
  }
}

/**
 * Runs `work` with an `AbortSignal` that fires when `deadline` runs out, and rejects with a
 * {@link WxApiTimeoutError} at that moment even if `work` ignores its signal (an injected fetch
 * might), so a call can never outlive its budget.
 *
 * @internal
 */
export async function settleWithin<T>(
  deadline: Deadline,
  operation: WxApiOperation,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const remainingMs = deadline.remainingMs();
  if (remainingMs <= 0) throw new WxApiTimeoutError(operation, deadline.timeoutMs);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // Reject before aborting: the abort makes `work` reject too, and the timeout must win the race.
      reject(new WxApiTimeoutError(operation, deadline.timeoutMs));
      controller.abort();
    }, remainingMs);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits `ms` milliseconds.
 *
 * @internal
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
