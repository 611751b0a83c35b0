// Shared timing helpers: interleaved rounds, median ns/op, so ratios inside one run hold on a noisy machine.

/** Runs `fn` until `minMs` have passed, returning ns per call. */
function timeBatch(fn, minMs) {
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

const median = (values) => {
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

/** A short description of this machine, for the figures to be read against. */
export async function machine() {
  const os = await import('node:os');
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
