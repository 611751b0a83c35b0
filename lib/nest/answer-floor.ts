/**
 * The default of `keyFailureFloorMs`: how long, in milliseconds from the start of the
 * key-dependent work, every key-dependent failure takes before its answer goes out, so bad
 * padding, bad JSON, a wrong watermark, a failed DTO or a replay all answer at the same moment,
 * whatever the work took.
 *
 * The work itself is well under a millisecond, but its wall time is not: other requests' promise
 * callbacks run between its awaits, a garbage collection or the OS can stall the loop, and a
 * Redis store adds round trips. A failure whose work outlasts the floor answers when the work
 * ends, and the heavier the work (a DTO validated, a replay mark looked up) the likelier that is:
 * at 4 ms, on a loaded 2-core machine, 7 % of replayed payloads and 2 % of bad paddings outlasted
 * the floor, enough for the replays to be told apart. 10 ms leaves room for such stalls.
 *
 * @internal
 */
export const KEY_FAILURE_FLOOR_MS = 10;

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
