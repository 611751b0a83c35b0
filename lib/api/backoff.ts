/** Doubling stops here, relative to the base delay, so a large `maxAttempts` cannot wait for ages. */
const MAX_DOUBLINGS = 3;

/**
 * How long to wait before the next attempt, after `failedAttempts` attempts failed: exponential
 * (base, 2×base, 4×base, capped at 8×base) with "equal jitter", i.e. a random point in the upper
 * half of that step. Jitter keeps many servers that met the same outage from retrying in lockstep;
 * keeping the lower half guarantees some backoff even on an unlucky draw.
 *
 * @param failedAttempts - attempts that failed so far, at least 1
 * @param baseDelayMs - the first step
 * @param random - a source in [0, 1), injectable for tests
 * @internal
 */
export function backoffDelayMs(
  failedAttempts: number,
  baseDelayMs: number,
  random: () => number = Math.random,
): number {
  const step = baseDelayMs * 2 ** Math.min(Math.max(failedAttempts - 1, 0), MAX_DOUBLINGS);
  return Math.round(step / 2 + (random() * step) / 2);
}
