/**
 * Settings of the adversarial suite, from the environment:
 * - `ADVERSARIAL_SEED`: the fast-check seed (an integer); default a fixed one, so CI is reproducible;
 * - `ADVERSARIAL_RUNS`: how many random and mutated bodies in all (split between the adapters);
 *   default 10,000, the CI size. Raise it for an opt-in long run.
 */
export const DEFAULT_SEED = 20_251_124;
export const DEFAULT_RUNS = 10_000;
/** The opt-in long run may not exceed this, so a typo cannot start an endless job. */
export const MAX_RUNS = 2_000_000;

export const SEED = readInteger('ADVERSARIAL_SEED', DEFAULT_SEED, -(2 ** 31), 2 ** 31 - 1);
export const RUNS = readInteger('ADVERSARIAL_RUNS', DEFAULT_RUNS, 2, MAX_RUNS);

/** The line to paste to replay a failure. */
export function replayHint(): string {
  return `seed ${SEED}, runs ${RUNS}: replay with ADVERSARIAL_SEED=${SEED} ADVERSARIAL_RUNS=${RUNS}`;
}

function readInteger(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
