// Issue #7's HTTP figures: autocannon in this process drives a Nest app in another process
// (http-server.mjs), on loopback, 50 connections, fixed durations, on Express and on Fastify:
// a bare route against @WxVerified() and @WxVerified(WxUserInfo), all taking bodies of one size.
// The server runs the real default, replayProtection: true, so every request of a run carries a
// payload of its own, from a pool encrypted before the run (a ciphertext per request).
//
// Per adapter: one warm-up run per route, then `rounds` short measured runs per route, the order
// reversed every other round (bare, verified, dto, noop, then noop, dto, verified, bare) so a
// drift of the machine's load hits every route alike. Ratios are medians of per-round ratios.
// Req/s shown per route is all 2xx responses over all measured seconds; p50/p99 come from every
// response's own latency (autocannon's histogram keeps whole milliseconds only, too coarse for a
// 1.5 x bound on a few-millisecond p99).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createSessionKey, encryptOpenData, signRawData } from 'nestjs-wx-open-data/testing';
import { BENCH_APP_ID, BENCH_OPENID, BENCH_PROFILE, BENCH_UNIONID } from './fixtures.mjs';
import { median } from './measure.mjs';

export const ROUTES = {
  bare: '/bare',
  verified: '/verified',
  verified_dto: '/verified-dto',
  // Reference, no target: Nest's guard + interceptor pipeline with nothing inside.
  noop_guard_interceptor: '/noop',
};
export const ADAPTERS = ['express', 'fastify'];

const SERVER = fileURLToPath(new URL('./http-server.mjs', import.meta.url));

/** Starts the server process and waits for its port; rejects if it dies or stays silent. */
export async function startServer(adapter, timeoutMs, execArgv = []) {
  const child = fork(SERVER, [adapter], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${adapter} bench server: no answer`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${adapter} bench server exited with ${code}`)));
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
  });
  try {
    return { child, ...(await ready) };
  } catch (error) {
    child.kill();
    throw error;
  }
}

export async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  child.send({ type: 'stop' });
  await exited;
  clearTimeout(timer);
}

const APP_ID = BENCH_APP_ID;
const OPENID = BENCH_OPENID;
const UNIONID = BENCH_UNIONID;
const PROFILE = BENCH_PROFILE;
/** Bodies per second of a run the pool holds: above what one core serves, so no run wraps around. */
const POOL_PER_SECOND = 40_000;

/** Asks `child` for a request of one call. */
function ask(child, message, answerType) {
  return new Promise((resolve) => {
    const onMessage = (answer) => {
      if (answer?.type !== answerType) return;
      child.off('message', onMessage);
      resolve(answer);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/**
 * A new session on the server (a new key) and `count` user-info bodies for it, as wx.getUserInfo
 * makes them (watermark: now), each with a ciphertext of its own: built before the run.
 */
export async function sessionWithBodies(child, count) {
  const sessionKey = createSessionKey();
  const session = { openid: OPENID, unionid: UNIONID, appId: APP_ID, sessionKey };
  const { token } = await ask(child, { type: 'session', session }, 'session');
  const rawData = JSON.stringify(PROFILE);
  const signature = signRawData(rawData, sessionKey);
  const watermark = { appid: APP_ID, timestamp: Math.floor(Date.now() / 1000) };
  const payload = { openId: OPENID, ...PROFILE, unionId: UNIONID, watermark };
  const bodies = new Array(count);
  for (let i = 0; i < count; i++) {
    bodies[i] = JSON.stringify({ rawData, signature, ...encryptOpenData(payload, sessionKey) });
  }
  return { headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, token, bodies };
}

/** One request of each route must answer 200 before any load: never time failures. */
async function checkRoutes(port, request) {
  let next = 0;
  for (const [name, path] of Object.entries(ROUTES)) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: request.headers,
      body: request.bodies[next++],
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (response.status !== 200 || text !== '{"ok":true}') {
      throw new Error(`route ${name} answered ${response.status} ${text.slice(0, 200)}`);
    }
  }
}

/**
 * One bounded autocannon run, each request with the next body of `request.bodies`; every 2xx
 * response's latency (ms) is pushed to `latencies`.
 */
export function load(port, path, request, { connections, seconds, amount }, latencies) {
  let next = 0;
  const { bodies } = request;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}${path}`,
        headers: request.headers,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              req.body = bodies[next++ % bodies.length];
              return req;
            },
          },
        ],
        connections,
        ...(amount !== undefined ? { amount } : { duration: seconds }),
        timeout: 10,
        // A fixed `amount` (the smoke run) ends at the next sample tick: tick often.
        ...(amount !== undefined ? { sampleInt: 50 } : {}),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (latencies) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      });
    }
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** p50 and p99 of latencies in ms (every 2xx response's own, not autocannon's whole-ms histogram). */
function latencyPercentiles(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** One route's figures over all rounds: req/s from totals, latency percentiles over all responses. */
function summarise(runs, latencies) {
  const ok = runs.reduce((n, r) => n + r['2xx'], 0);
  const seconds = runs.reduce((n, r) => n + r.duration, 0);
  const all = latencyPercentiles(latencies.flat());
  const perRound = latencies.map(latencyPercentiles);
  return {
    req_per_sec: ok / seconds,
    p50_ms: all.p50,
    p99_ms: all.p99,
    requests: ok,
    seconds,
    non_2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
    rounds_req_per_sec: runs.map((r) => r['2xx'] / r.duration),
    rounds_p99_ms: perRound.map((p) => p.p99),
  };
}

/** Every route on one adapter. */
async function benchAdapter(adapter, plan, log) {
  const server = await startServer(adapter, 30_000);
  try {
    const poolSize = (seconds) =>
      plan.amount !== undefined ? plan.amount + plan.connections * 2 : Math.ceil(seconds * POOL_PER_SECOND);
    // A new session and fresh bodies per run: every ciphertext is sent once, the watermark stays
    // fresh, and a run never spends the key's budget.
    const requestFor = (seconds = plan.seconds) => sessionWithBodies(server.child, poolSize(seconds));
    const first = await sessionWithBodies(server.child, Object.keys(ROUTES).length);
    await checkRoutes(server.port, first);
    const bodyBytes = Buffer.byteLength(first.bodies[0]);
    if (plan.warmupSeconds > 0) {
      for (const path of Object.values(ROUTES)) {
        await load(server.port, path, await requestFor(plan.warmupSeconds), {
          ...plan,
          seconds: plan.warmupSeconds,
        });
      }
    }
    const names = Object.keys(ROUTES);
    const runs = Object.fromEntries(names.map((name) => [name, []]));
    const latencies = Object.fromEntries(names.map((name) => [name, []]));
    for (let round = 0; round < plan.rounds; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse();
      const line = [];
      for (const name of order) {
        // A new session and body per run: the watermark is never older than one run.
        const roundLatencies = [];
        const result = await load(server.port, ROUTES[name], await requestFor(), plan, roundLatencies);
        runs[name].push(result);
        latencies[name].push(roundLatencies);
        line.push(`${name} ${Math.round(result['2xx'] / result.duration)}`);
      }
      log?.(`  ${adapter} round ${round + 1}/${plan.rounds} req/s: ${line.join(', ')}`);
    }
    const routes = Object.fromEntries(names.map((name) => [name, summarise(runs[name], latencies[name])]));
    for (const [name, r] of Object.entries(routes)) {
      if (r.non_2xx > 0 || r.errors > 0) {
        throw new Error(`${adapter} ${name}: ${r.non_2xx} non-2xx answers, ${r.errors} errors under load`);
      }
    }
    const sample = await sessionWithBodies(server.child, plan.amount !== undefined ? 500 : 5000);
    const { us: stages } = await ask(
      server.child,
      { type: 'breakdown', token: sample.token, bodies: sample.bodies },
      'breakdown',
    );
    return { replayProtection: server.replayProtection, body_bytes: bodyBytes, routes, stages };
  } finally {
    await stopServer(server.child);
  }
}

/**
 * The median over rounds of route ÷ bare within the round. The routes of one round ran back to
 * back, in an order reversed every other round, so a change of the machine's load between rounds
 * cancels out of each round's ratio.
 */
function roundRatio(routes, route, figure) {
  return median(routes[route][figure].map((value, round) => value / routes.bare[figure][round]));
}

/**
 * Where the µs of one `@WxVerified(WxUserInfo)` request go. The server is one process on one core,
 * so at saturation 1e6 / req/s is the CPU time of one request: the bare route's is the framework
 * pipeline (HTTP, routing, body parsing, the answer); the DTO route's minus it is ours. Our stages
 * are timed one by one in the server process; `rest` is what ours costs beyond them (the guard's
 * own glue, the parameter decorators, Nest's guard step, GC).
 */
function microseconds({ routes, stages }) {
  const perRequest = (name) => 1e6 / median(routes[name].rounds_req_per_sec);
  const framework = perRequest('bare');
  const total = perRequest('verified_dto');
  const ours = total - framework;
  const staged = Object.values(stages).reduce((sum, us) => sum + us, 0);
  const round = (us) => Math.round(us * 10) / 10;
  return {
    total: round(total),
    framework_pipeline: round(framework),
    ...Object.fromEntries(Object.entries(stages).map(([name, us]) => [name, round(us)])),
    rest: round(ours - staged),
  };
}

/**
 * @param plan - `{ connections, seconds, rounds, warmupSeconds }`, or `{ connections, amount,
 *   rounds: 1, warmupSeconds: 0 }` for the smoke run (a fixed number of requests per run)
 */
export async function runHttpBench(plan, log) {
  const adapters = {};
  for (const adapter of ADAPTERS) adapters[adapter] = await benchAdapter(adapter, plan, log);
  const ratios = {};
  const p99Ratios = {};
  for (const adapter of ADAPTERS) {
    const routes = adapters[adapter].routes;
    for (const route of Object.keys(ROUTES).filter((name) => name !== 'bare')) {
      ratios[`${adapter}_${route}_vs_bare`] = roundRatio(routes, route, 'rounds_req_per_sec');
      p99Ratios[`${adapter}_${route}`] = roundRatio(routes, route, 'rounds_p99_ms');
    }
  }
  const verifiedP99 = Object.entries(p99Ratios).filter(([name]) => /_verified(_dto)?$/.test(name));
  const breakdown = Object.fromEntries(ADAPTERS.map((adapter) => [adapter, microseconds(adapters[adapter])]));
  return {
    plan,
    replayProtection: adapters.express.replayProtection,
    replay_protection: adapters.express.replayProtection,
    breakdown_us: breakdown,
    body_bytes: adapters.express.body_bytes,
    ratio_definition:
      'req/s and p99 ratios are medians over rounds of (route ÷ bare route of the same adapter, same round)',
    adapters,
    ratios,
    fastify_verified_vs_bare: ratios.fastify_verified_vs_bare,
    fastify_verified_dto_vs_bare: ratios.fastify_verified_dto_vs_bare,
    express_verified_vs_bare: ratios.express_verified_vs_bare,
    express_verified_dto_vs_bare: ratios.express_verified_dto_vs_bare,
    p99_vs_bare: p99Ratios,
    p99_worst_vs_bare: Math.max(...verifiedP99.map(([, value]) => value)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `--quick`: short rounds, to check a direction (the full figures come from `npm run bench`).
  const quick = process.argv.includes('--quick');
  const result = await runHttpBench(
    quick
      ? { connections: 50, seconds: 1, rounds: 2, warmupSeconds: 0.5 }
      : { connections: 50, seconds: 2, rounds: 6, warmupSeconds: 1.5 },
    console.log,
  );
  console.log(
    JSON.stringify(
      {
        ratios: result.ratios,
        p99_worst_vs_bare: result.p99_worst_vs_bare,
        breakdown_us: result.breakdown_us,
      },
      null,
      2,
    ),
  );
}
