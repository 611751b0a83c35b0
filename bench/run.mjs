// `npm run bench`: measures everything in one go (at most 5 minutes on a 2-core machine), prints
// a table with the targets, and writes bench/results/latest.json, latest.md and latest.svg.
// `--smoke` runs a few short rounds only (a few seconds), so CI proves the benchmark still runs;
// it writes bench/results/smoke.* and leaves latest.* alone.
//
// Every figure is a ratio measured inside this run, so it holds on a noisy, shared machine:
//   crypto   in this process, interleaved rounds (crypto.bench.mjs, peers.mjs)
//   http     autocannon here against a Nest app in a child process (http.bench.mjs)
//   graphql  the same against a Nest + Apollo app in a child process (graphql.bench.mjs)
//   memory   a child process with --expose-gc (memory.bench.mjs)
//   redis    bench/redis.bench.mjs, when it exists (see loadRedisBench below)
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatCryptoSpread, runCryptoBench } from './crypto.bench.mjs';
import { runGraphQLBench } from './graphql.bench.mjs';
import { runHttpBench } from './http.bench.mjs';
import { machine } from './measure.mjs';
import { runMemoryBench } from './memory.bench.mjs';
import { runMetricsBench } from './metrics.bench.mjs';
import { renderMarkdown, renderSvg } from './report.mjs';

const smoke = process.argv.includes('--smoke');
const started = Date.now();

// The whole run is bounded: 10 minutes for `npm run bench` (the build included), 2 minutes for the
// smoke (it now also starts the GraphQL, API security and metrics sections).
const LIMIT_MS = smoke ? 120_000 : 600_000;
setTimeout(() => {
  console.error(`bench: over ${LIMIT_MS / 1000} s, stopping`);
  process.exit(1);
}, LIMIT_MS).unref();

const plan = smoke
  ? {
      crypto: { rounds: 2, batchMs: 10, warmupMs: 20 },
      http: { connections: 10, amount: 300, rounds: 1, warmupSeconds: 0 },
      graphql: { connections: 10, amount: 100, rounds: 1, warmupAmount: 0, users: 16 },
      memory: { sessions: 2_000 },
      login: { durationMs: 300 },
      apisec: { rounds: 1, callsPerRound: 10, cryptoIterations: 20 },
      metrics: { rounds: 2, batchMs: 10, warmupMs: 20 },
    }
  : {
      crypto: { rounds: 21, batchMs: 80, warmupMs: 500 },
      http: { connections: 50, seconds: 2, rounds: 6, warmupSeconds: 1.5 },
      graphql: { connections: 50, amount: 4000, rounds: 6, warmupAmount: 2000, users: 64 },
      memory: { sessions: 100_000 },
      login: { durationMs: 3000 },
      apisec: { rounds: 9, callsPerRound: 60, cryptoIterations: 300 },
      metrics: { rounds: 15, batchMs: 60, warmupMs: 300 },
    };

const targets = {
  crypto_vs_raw: {
    max: 2.8,
    what: 'ours (signature + decrypt + parse + watermark + identity) ns/op ÷ one createDecipheriv+update+final',
  },
  full_vs_crypto: {
    max: 2.5,
    what: 'ours + WxUserInfo DTO transform and validation ns/op ÷ ours',
  },
  crypto_vs_best_peer: {
    max: 0.9,
    what: 'ours ns/op ÷ the fastest peer’s ns/op on the same fixture (below 1: ours is faster)',
  },
  fastify_verified_vs_bare: { min: 0.65, what: 'Fastify: @WxVerified() req/s ÷ bare route req/s' },
  fastify_verified_dto_vs_bare: {
    min: 0.5,
    what: 'Fastify: @WxVerified(WxUserInfo) req/s ÷ bare route req/s',
  },
  express_verified_vs_bare: { min: 0.88, what: 'Express: @WxVerified() req/s ÷ bare route req/s' },
  express_verified_dto_vs_bare: {
    min: 0.68,
    what: 'Express: @WxVerified(WxUserInfo) req/s ÷ bare route req/s',
  },
  p99_worst_vs_bare: {
    max: 1.5,
    what: 'worst p99 of the four verified routes ÷ the p99 of the bare route on the same adapter',
  },
  graphql_verified_dto_vs_bare: {
    min: 0.8,
    what: 'Apollo: @WxVerified(WxUserInfo) mutation req/s ÷ bare mutation req/s (distinct payloads, replay protection on)',
  },
  redis_vs_memory: { min: 0.8, what: 'Redis store req/s ÷ memory store req/s, same @WxVerified route' },
  memory_bytes_per_session: {
    max: 400,
    what: 'heap bytes per session in the memory store at 100,000 sessions',
  },
};

const log = (line) => console.log(line);
const section = (name) => console.log(`\n== ${name} (${Math.round((Date.now() - started) / 1000)} s)`);

/**
 * The hook for the Redis store's figure. bench/redis.bench.mjs (written with the Redis store)
 * exports `runRedisBench({ smoke, http, log })`, where `http` is the HTTP plan above, and
 * resolves to `{ redis_vs_memory: number, ...raw figures }`: req/s of the same @WxVerified route
 * with the Redis store ÷ with the memory store, measured inside that call. Until that file
 * exists, `redis_vs_memory` stays null.
 */
async function loadRedisBench() {
  const file = fileURLToPath(new URL('./redis.bench.mjs', import.meta.url));
  if (!existsSync(file)) return undefined;
  const module = await import(file);
  return typeof module.runRedisBench === 'function' ? module.runRedisBench : undefined;
}

async function optionalLoginBench() {
  const file = fileURLToPath(new URL('./login.bench.mjs', import.meta.url));
  if (!existsSync(file)) return undefined;
  const { runLoginBench } = await import(file);
  return runLoginBench(plan.login);
}

/** Issue 13's figure: bench/apisec.bench.mjs, the API security mode's cost per protected call. */
async function optionalApiSecurityBench() {
  const file = fileURLToPath(new URL('./apisec.bench.mjs', import.meta.url));
  if (!existsSync(file)) return undefined;
  const { runApiSecurityBench } = await import(file);
  return runApiSecurityBench(plan.apisec);
}

const machineInfo = await machine();
console.log(
  `machine: ${machineInfo.cpu}, ${machineInfo.cores} cores, Node ${machineInfo.node}; ${machineInfo.uptime ?? ''}`,
);

section('crypto path against the raw limit and the peers');
const crypto = await runCryptoBench(plan.crypto);

section('memory store: bytes per session');
const memory = await runMemoryBench(plan.memory);

section('HTTP: bare route against @WxVerified, Express and Fastify');
const http = await runHttpBench(plan.http, log);

let graphql = null;
let graphqlNote;
try {
  section('GraphQL (Apollo): bare mutation against @WxVerified(WxUserInfo)');
  graphql = await runGraphQLBench(plan.graphql, log);
} catch (error) {
  // The GraphQL figure must not cost the others: report it missing, with the reason.
  console.error(`graphql bench failed: ${error.message}`);
  graphqlNote = `the GraphQL bench failed: ${error.message}`;
}

let redis = null;
let redisNote;
try {
  const runRedisBench = await loadRedisBench();
  if (runRedisBench) {
    section('Redis store against the memory store (bench/redis.bench.mjs)');
    redis = await runRedisBench({ smoke, http: plan.http, log });
  } else {
    redisNote =
      'bench/redis.bench.mjs does not exist or does not export runRedisBench: run.mjs (loadRedisBench) calls it when it does.';
  }
} catch (error) {
  // The Redis figure must not cost the others: report it missing, with the reason.
  console.error(`redis bench failed: ${error.message}`);
  redisNote = `the Redis bench failed: ${error.message}`;
}

let login;
try {
  section('login (issue #3 figure, no target here)');
  login = await optionalLoginBench();
} catch (error) {
  console.error(`login bench failed: ${error.message}`);
}

let apisec;
try {
  section('API security mode: a protected call against the same call without it (no target here)');
  apisec = await optionalApiSecurityBench();
  if (apisec)
    log(`api_security_cost_ratio ${apisec.api_security_cost_ratio.toFixed(2)} (${JSON.stringify(apisec)})`);
} catch (error) {
  console.error(`API security bench failed: ${error.message}`);
}

section('metrics: what OpenTelemetry recording adds to one verified request (no target)');
const metricsCost = await runMetricsBench(plan.metrics);
log(
  `metrics_us_per_verified_request ${metricsCost.metrics_us_per_verified_request.toFixed(2)} ` +
    `(on ${Math.round(metricsCost.ns_per_request.metrics_on)} ns vs off ${Math.round(metricsCost.ns_per_request.metrics_off)} ns of the library's store calls)`,
);

const results = {
  when: new Date(started).toISOString(),
  smoke,
  duration_seconds: (Date.now() - started) / 1000,
  machine: machineInfo,
  load_average_end: loadavg().map((n) => Math.round(n * 100) / 100),
  definitions: {
    ratios:
      'Each ratio compares two figures measured in this run. Crypto ratios are medians of per-round ratios (interleaved rounds, each case timed once per round); HTTP ratios are req/s over all measured rounds of one adapter.',
    crypto_vs_best_peer:
      'ours / best_peer: our crypto-path ns/op divided by the ns/op of the fastest peer (best_peer); below 1 means ours is faster.',
    api_security_cost_ratio:
      'ms per getPhoneNumber call in the API security mode ÷ ms per plain call, same fake WeChat on loopback, median of interleaved rounds; the fake does the mirror work (verify, decrypt, encrypt, sign), so this bounds the client’s share from above (client_crypto_us_per_call is that share alone).',
  },
  crypto_vs_raw: crypto.crypto_vs_raw,
  full_vs_crypto: crypto.full_vs_crypto,
  crypto_vs_best_peer: crypto.crypto_vs_best_peer,
  fastify_verified_vs_bare: http.fastify_verified_vs_bare,
  fastify_verified_dto_vs_bare: http.fastify_verified_dto_vs_bare,
  express_verified_vs_bare: http.express_verified_vs_bare,
  express_verified_dto_vs_bare: http.express_verified_dto_vs_bare,
  p99_worst_vs_bare: http.p99_worst_vs_bare,
  graphql_verified_dto_vs_bare: graphql?.graphql_verified_dto_vs_bare ?? null,
  graphql_note: graphqlNote,
  // The HTTP routes run with the real default; each request carries a payload of its own.
  replay_protection: http.replay_protection,
  // Where the µs of one @WxVerified(WxUserInfo) request go, per adapter (see http.bench.mjs).
  http_breakdown_us: http.breakdown_us,
  redis_vs_memory: typeof redis?.redis_vs_memory === 'number' ? redis.redis_vs_memory : null,
  redis_note: redisNote,
  memory_bytes_per_session: memory.bytes_per_session,
  api_security_cost_ratio:
    typeof apisec?.api_security_cost_ratio === 'number' ? apisec.api_security_cost_ratio : null,
  // µs that OpenTelemetry recording (an SDK with a reader) adds to one verified request.
  metrics_us_per_verified_request: metricsCost.metrics_us_per_verified_request,
  targets,
  met: {},
  crypto: {
    rounds: plan.crypto.rounds,
    batch_ms: plan.crypto.batchMs,
    plaintext_bytes: crypto.plaintextBytes,
    ns_per_op: crypto.ns_per_op,
    best_peer: crypto.best_peer,
    crypto_vs_peer: crypto.crypto_vs_peer,
    peer_versions: crypto.peer_versions,
    spread: crypto.spread,
  },
  http,
  graphql,
  memory,
  redis,
  login,
  apisec,
  metrics: metricsCost,
};
for (const [name, target] of Object.entries(targets)) {
  const value = results[name];
  results.met[name] =
    typeof value !== 'number' ? null : target.max !== undefined ? value <= target.max : value >= target.min;
}

const fmt = (n) => (typeof n === 'number' ? n.toFixed(n < 10 ? 2 : 0) : 'n/a');
console.log(`\nuser-info payload: ${crypto.plaintextBytes} bytes of plaintext\n`);
console.log(`${formatCryptoSpread(crypto)}\n`);
console.log('| case | ns/op |');
console.log('| --- | ---: |');
console.log(`| (1) raw limit: createDecipheriv + update + final | ${fmt(crypto.ns_per_op.raw)} |`);
console.log(
  `| (2) ours: verifySignature + decryptOpenData (watermark, identity) | ${fmt(crypto.ns_per_op.crypto)} |`,
);
console.log(`| (3) (2) + WxUserInfo transform + validate | ${fmt(crypto.ns_per_op.full)} |`);
for (const peer of Object.keys(crypto.crypto_vs_peer)) {
  console.log(
    `| peer: ${peer}${peer === crypto.best_peer ? ' (fastest)' : ''} | ${fmt(crypto.ns_per_op[peer])} |`,
  );
}
console.log('\n| adapter | route | req/s | p50 ms | p99 ms |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const [adapter, a] of Object.entries(http.adapters)) {
  for (const [route, s] of Object.entries(a.routes)) {
    console.log(`| ${adapter} | ${route} | ${fmt(s.req_per_sec)} | ${fmt(s.p50_ms)} | ${fmt(s.p99_ms)} |`);
  }
}
if (graphql) {
  console.log('\n| GraphQL (Apollo) mutation | req/s | p50 ms | p99 ms | server CPU µs/request |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, m] of Object.entries(graphql.mutations)) {
    console.log(
      `| ${name} | ${fmt(m.req_per_sec)} | ${fmt(m.p50_ms)} | ${fmt(m.p99_ms)} | ${fmt(m.server_cpu_us_per_request)} |`,
    );
  }
}
console.log('\n| ratio | measured | target | met |');
console.log('| --- | ---: | ---: | :---: |');
for (const [name, target] of Object.entries(targets)) {
  const met = results.met[name];
  const bound = target.max !== undefined ? `≤ ${target.max}` : `≥ ${target.min}`;
  console.log(
    `| ${name} | ${fmt(results[name])} | ${bound} | ${met === null ? 'n/a' : met ? 'yes' : 'no'} |`,
  );
}

const base = smoke ? 'bench/results/smoke' : 'bench/results/latest';
mkdirSync('bench/results', { recursive: true });
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${base}.md`, renderMarkdown(results));
writeFileSync(`${base}.svg`, renderSvg(results));
console.log(`\nwritten: ${base}.json, ${base}.md, ${base}.svg (${Math.round(results.duration_seconds)} s)`);
// Peers' SDKs and the HTTP client keep timers and sockets alive: this run is over.
process.exit(0);
