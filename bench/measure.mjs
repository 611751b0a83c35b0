// Shared timing helpers: interleaved rounds, median ns/op, so ratios inside one run hold on a noisy machine.
import { execFileSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A young-generation collection, untimed, before each batch. Each case leaves garbage behind (a
 * decipher is a native object whose memory is freed by callbacks after a GC); without this, that
 * cost is charged to whichever case happens to run next. Only a minor GC: a full one (`gc()`)
 * also throws away compiled code, and the next batch would time V8 re-optimising (measured here:
 * about 60 ms for the DTO path). `gc` is exposed at run time, so `node bench/run.mjs` needs no flag.
 */
const gc = (() => {
  const collect = typeof globalThis.gc === 'function' ? globalThis.gc : exposeGc();
  return () => collect({ type: 'minor' });
})();

function exposeGc() {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

/** Runs `fn` until `minMs` have passed, returning ns per call. */
function timeBatch(fn, minMs) {
  gc();
  let iterations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(minMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) fn();
    iterations += 100;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / iterations;
}

/** The async twin of {@link timeBatch}: each call is awaited before the next starts. */
async function timeBatchAsync(fn, minMs) {
  gc();
  let iterations = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(minMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) await fn();
    iterations += 100;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / iterations;
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Measures every case in interleaved rounds (each round times each case once) and returns the
 * median ns/op of each: drift and background load hit all cases alike.
 */
export function measure(cases, { rounds = 15, batchMs = 60, warmupMs = 300 } = {}) {
  for (const fn of Object.values(cases)) timeBatch(fn, warmupMs);
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(cases)) samples[name].push(timeBatch(fn, batchMs));
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

/**
 * Like {@link measure}, but a case may also be `{ fn, async: true }`: a promise-returning call,
 * awaited each time (the way such an API is used). Each round runs the cases in a rotated order,
 * so no case always follows the same neighbour. Returns the median ns/op of each case and every
 * round's samples, for {@link pairedRatio}.
 */
export async function measureRounds(cases, { rounds = 15, batchMs = 60, warmupMs = 300 } = {}) {
  const entries = Object.entries(cases).map(([name, c]) =>
    typeof c === 'function' ? [name, c, false] : [name, c.fn, c.async === true],
  );
  const time = (fn, isAsync, ms) => (isAsync ? timeBatchAsync(fn, ms) : timeBatch(fn, ms));
  for (const [, fn, isAsync] of entries) await time(fn, isAsync, warmupMs);
  const samples = Object.fromEntries(entries.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const shift = round % entries.length;
    for (const [name, fn, isAsync] of [...entries.slice(shift), ...entries.slice(0, shift)]) {
      samples[name].push(await time(fn, isAsync, batchMs));
    }
  }
  const ns = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
  return { ns, samples };
}

/**
 * The ratio a / b as the median of the per-round ratios: the two batches of one round ran within
 * milliseconds of each other, so load that comes and goes cancels out of each round's ratio.
 */
export function pairedRatio(a, b) {
  return median(a.map((value, round) => value / b[round]));
}

/** A short description of this machine, for the figures to be read against. */
export async function machine() {
  const os = await import('node:os');
  const cpus = os.cpus();
  let uptime;
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8', timeout: 2000 }).trim();
  } catch {
    uptime = undefined;
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    uptime,
  };
}
