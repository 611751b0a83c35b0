// Shared timing helpers: interleaved rounds, median ns/op, so ratios inside one run hold on a noisy machine.
import { execFileSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A young-generation collection, run at the end of each batch and timed with it. A case leaves
 * garbage behind (a decipher is a native object whose memory is freed by callbacks after a GC,
 * run as tasks of the event loop); left alone, that cleanup is charged to whichever case happens
 * to run next (issue 16: ours took 9.1 µs right after `raw`, which builds a decipher per call,
 * and 5.9-6.7 µs otherwise). Collected and given one event-loop turn inside its own batch, each
 * case pays for its own garbage, which a server running it would pay too. Only a minor GC: a full
 * one (`gc()`) also throws away compiled code, and the next batch would time V8 re-optimising
 * (about 60 ms for the DTO path). `gc` is exposed at run time, so `node bench/run.mjs` needs no flag.
 */
const gc = (() => {
  const collect = typeof globalThis.gc === 'function' ? globalThis.gc : exposeGc();
  return () => collect({ type: 'minor' });
})();

function exposeGc() {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

/** One turn of the event loop: the tasks a collection posted (native finalisers) run in it. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A batch of `minMs` of one case, its own garbage collected at its end: ns per operation. */
async function timeBatch(loop, minMs) {
  const start = process.hrtime.bigint();
  const iterations = await loop(start, BigInt(minMs) * 1000000n);
  gc();
  await nextTurn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * The timing loop of one case, compiled for that case alone. One loop shared by every case has
 * one call site `fn()` for all of them: V8 inlines whichever case it optimises the loop for first,
 * then deoptimises it ("wrong call target") when the next case runs, and settles on a megamorphic
 * call. Which case ends up inlined depends on when the optimiser ran, so the same commit gave
 * different figures from one run to the next (issue 16: 9.7-12.9 µs for ours, `crypto_vs_raw`
 * 2.29 in one run and 5.34 in the next). A loop of its own per case (its own source text, hence
 * its own feedback) keeps each call site monomorphic in every run.
 */
function caseTimer(name, fn, isAsync) {
  const body = `
    return ${isAsync ? 'async ' : ''}function timeCase(start, budget) {
      let iterations = 0;
      const deadline = start + budget;
      let now = start;
      while (now < deadline) {
        for (let i = 0; i < 100; i++) ${isAsync ? 'await ' : ''}fn();
        iterations += 100;
        now = process.hrtime.bigint();
      }
      return iterations;
    }; // ${JSON.stringify(name)}: distinct source text, so V8's compilation cache shares nothing`;
  const loop = new Function('fn', body)(fn);
  return (minMs) => timeBatch(loop, minMs);
}

/** `items` in a random order (Fisher-Yates). */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** min, median and max of `values`: how far a figure moved from round to round. */
export const spread = (values) => ({
  min: Math.min(...values),
  median: median(values),
  max: Math.max(...values),
});

/**
 * Measures every case in interleaved rounds (each round times each case once). A case is a
 * function or `{ fn, async: true }`: a promise-returning call, awaited each time (the way such an
 * API is used). Each case is timed by a loop of its own (see
 * {@link caseTimer}) and pays for its own garbage (see {@link timeBatch}), and each round runs
 * the cases in a random order, so no case always follows the same neighbour. Returns the median ns/op of each case, every round's samples (for
 * {@link pairedRatio}) and each case's spread over the rounds.
 */
export async function measureRounds(cases, { rounds = 15, batchMs = 60, warmupMs = 300 } = {}) {
  const entries = Object.entries(cases).map(([name, c]) => {
    const isAsync = typeof c !== 'function' && c.async === true;
    return [name, caseTimer(name, typeof c === 'function' ? c : c.fn, isAsync)];
  });
  for (const [, time] of entries) await time(warmupMs);
  const samples = Object.fromEntries(entries.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, time] of shuffled(entries)) samples[name].push(await time(batchMs));
  }
  const ns = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
  const spreads = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, spread(values)]));
  return { ns, samples, spreads };
}

/** The per-round ratios a / b: the two batches of one round ran within milliseconds of each other. */
export const roundRatios = (a, b) => a.map((value, round) => value / b[round]);

/**
 * The ratio a / b as the median of the per-round ratios: load that comes and goes cancels out
 * of each round's ratio.
 */
export function pairedRatio(a, b) {
  return median(roundRatios(a, b));
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
