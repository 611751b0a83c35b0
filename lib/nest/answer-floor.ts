/**
 * How long, in milliseconds from the start of the key-dependent work, every key-dependent
 * failure takes before its answer goes out: longer than the slowest such failure (a DTO failing
 * validation, the store's settle), so bad padding, bad JSON, a wrong watermark, a failed DTO or a
 * replay all answer at the same moment, whatever the work took.
 *
 * @internal
 */
export const KEY_FAILURE_FLOOR_MS = 4;

/** Below this, the wait is finished with `setImmediate` hops: timers fire on a millisecond grid. */
const FINE_WAIT_MS = 2;

/**
 * Resolves once `performance.now()` has reached `deadline`. A timer covers the bulk; the last
 * stretch is `setImmediate` hops, so the moment of release depends on the deadline and not on
 * where in the millisecond the work ended (timers are scheduled from a cached loop time, which
 * would otherwise leak the work's duration). The loop keeps serving other requests meanwhile.
 *
 * @internal
 */
export function waitUntil(deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const step = (): void => {
      const left = deadline - performance.now();
      if (left <= 0) resolve();
      else if (left > FINE_WAIT_MS) setTimeout(step, left - FINE_WAIT_MS);
      else setImmediate(step);
    };
    step();
  });
}
