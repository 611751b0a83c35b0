// Issue #10's GraphQL figure: autocannon in this process drives a Nest + Apollo app in another
// process (graphql-server.mjs), on loopback: the bare mutation against the same mutation behind
// @WxVerified(WxUserInfo), both taking the same envelope input.
//
// Real conditions: replay protection on (the default), every request a distinct payload (its own
// city, hence its own ciphertext) from a pool built before each run, signed and encrypted for one
// of `users` sessions in turn, so the replay claim and the key budget work as in production. A
// run is a fixed number of requests; `rounds` runs per mutation, the order reversed every other
// round, and the ratio is the median of the per-round ratios. Every answer is checked: a GraphQL
// refusal comes with HTTP 200, so the body must be exactly the mutation's `true`.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { encryptOpenData, signRawData } from 'nestjs-wx-open-data/testing';
import { stopServer } from './http.bench.mjs';
import { median } from './measure.mjs';
import { BENCH_APP_ID } from './fixtures.mjs';

const SERVER = fileURLToPath(new URL('./graphql-server.mjs', import.meta.url));
const APP_ID = BENCH_APP_ID;
const MUTATIONS = ['bare', 'verified'];
const queryOf = (name) => `mutation ($input: EnvelopeInput!) { ${name}(input: $input) }`;
const expectedOf = (name) => JSON.stringify({ data: { [name]: true } });

function request(child, message, answerType, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`graphql bench server: no '${answerType}'`)), timeoutMs);
    const onExit = (code) => reject(new Error(`graphql bench server exited with ${code}`));
    const onMessage = (answer) => {
      if (answer?.type !== answerType) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(answer);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (message !== undefined) child.send(message);
  });
}

/** `count` requests of mutation `name`, each with its own payload (watermark: now). */
function buildPool(name, users, count, runId) {
  const query = queryOf(name);
  const timestamp = Math.floor(Date.now() / 1000);
  const pool = new Array(count);
  for (let i = 0; i < count; i++) {
    const user = users[i % users.length];
    const payload = {
      openId: user.openid,
      nickName: 'Band',
      gender: 1,
      language: 'zh_CN',
      city: `City-${runId}-${i}`,
      province: 'Guangdong',
      country: 'CN',
      avatarUrl:
        'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGK/132',
      unionId: `u-${user.openid}`,
      watermark: { appid: APP_ID, timestamp },
    };
    const { openId: _openId, unionId: _unionId, watermark: _watermark, ...visible } = payload;
    const rawData = JSON.stringify(visible);
    const input = {
      rawData,
      signature: signRawData(rawData, user.sessionKey),
      ...encryptOpenData(payload, user.sessionKey),
    };
    pool[i] = {
      authorization: `Bearer ${user.token}`,
      body: JSON.stringify({ query, variables: { input } }),
    };
  }
  return pool;
}

/** One bounded run over a fresh pool; resolves with req/s, latencies and any wrong answer. */
async function run(child, port, name, users, plan, runId) {
  const before = await request(child, { type: 'cpu' }, 'cpu');
  const result = await load(port, name, users, plan, runId);
  const after = await request(child, { type: 'cpu' }, 'cpu');
  return { ...result, server_cpu_us_per_request: (after.micros - before.micros) / plan.amount };
}

function load(port, name, users, { connections, amount }, runId) {
  // A few spare payloads: autocannon may prepare a request or two past `amount`.
  const pool = buildPool(name, users, amount + connections, runId);
  const expected = expectedOf(name);
  let next = 0;
  let wrong = 0;
  let sample;
  const latencies = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/graphql`,
        connections,
        amount,
        timeout: 10,
        sampleInt: 50,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const item = pool[next++];
              return {
                ...req,
                headers: { 'content-type': 'application/json', authorization: item.authorization },
                body: item.body,
              };
            },
            onResponse: (status, body) => {
              if (status === 200 && body.trimEnd() === expected) return;
              wrong += 1;
              sample ??= `${status} ${String(body).slice(0, 200)}`;
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          req_per_sec: result['2xx'] / result.duration,
          ok: result['2xx'],
          seconds: result.duration,
          wrong,
          sample,
          errors: result.errors + result.timeouts + result.non2xx,
          latencies,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === 200) latencies.push(responseTime);
    });
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * @param plan - `{ connections, amount, rounds, warmupAmount, users }`: requests per run, runs per
 *   mutation, requests of the untimed warm-up per mutation, sessions the payloads are spread over
 */
export async function runGraphQLBench(plan, log) {
  const child = fork(SERVER, [APP_ID], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await request(child, undefined, 'ready');
    const { users } = await request(child, { type: 'users', count: plan.users }, 'users');
    let runId = 0;
    if (plan.warmupAmount > 0) {
      for (const name of MUTATIONS) {
        await run(child, ready.port, name, users, { ...plan, amount: plan.warmupAmount }, (runId += 1));
      }
    }
    const runs = Object.fromEntries(MUTATIONS.map((name) => [name, []]));
    for (let round = 0; round < plan.rounds; round++) {
      const order = round % 2 === 0 ? MUTATIONS : [...MUTATIONS].reverse();
      for (const name of order)
        runs[name].push(await run(child, ready.port, name, users, plan, (runId += 1)));
      log?.(
        `  graphql round ${round + 1}/${plan.rounds} req/s: ${MUTATIONS.map((name) => `${name} ${Math.round(runs[name][round].req_per_sec)}`).join(', ')}`,
      );
    }
    const mutations = {};
    for (const name of MUTATIONS) {
      const all = runs[name];
      const bad = all.reduce((n, r) => n + r.wrong + r.errors, 0);
      if (bad > 0) {
        throw new Error(
          `graphql ${name}: ${bad} wrong answers under load, e.g. ${all.find((r) => r.sample)?.sample}`,
        );
      }
      const sorted = Float64Array.from(all.flatMap((r) => r.latencies)).sort();
      mutations[name] = {
        req_per_sec: all.reduce((n, r) => n + r.ok, 0) / all.reduce((n, r) => n + r.seconds, 0),
        p50_ms: percentile(sorted, 50),
        p99_ms: percentile(sorted, 99),
        rounds_req_per_sec: all.map((r) => r.req_per_sec),
        // The server's own CPU time per request: what the work costs, whatever else the machine runs.
        server_cpu_us_per_request: median(all.map((r) => r.server_cpu_us_per_request)),
      };
    }
    const ratio = median(
      mutations.verified.rounds_req_per_sec.map(
        (value, round) => value / mutations.bare.rounds_req_per_sec[round],
      ),
    );
    return {
      plan,
      server: 'Nest + @nestjs/apollo (Apollo Server 5) on Express, memory store',
      replayProtection: ready.replayProtection,
      distinct_payloads: true,
      ratio_definition: 'median over rounds of (verified mutation req/s ÷ bare mutation req/s, same round)',
      mutations,
      graphql_verified_dto_vs_bare: ratio,
      // Load-independent cross-check: bare ÷ verified server CPU per request (what req/s tends to
      // when the server is the bottleneck), and the µs the verification adds to one request.
      graphql_cpu_bare_vs_verified:
        mutations.bare.server_cpu_us_per_request / mutations.verified.server_cpu_us_per_request,
      graphql_verified_added_cpu_us:
        mutations.verified.server_cpu_us_per_request - mutations.bare.server_cpu_us_per_request,
    };
  } finally {
    await stopServer(child);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const smoke = process.argv.includes('--smoke');
  const plan = smoke
    ? { connections: 10, amount: 200, rounds: 1, warmupAmount: 0, users: 16 }
    : { connections: 50, amount: 4000, rounds: 6, warmupAmount: 2000, users: 64 };
  console.log(JSON.stringify(await runGraphQLBench(plan, console.log), null, 2));
}
