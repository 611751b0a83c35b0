// Issue #4's figures: @WxVerified throughput with the Redis store against the memory store, and
// the bytes one session takes in Redis.
//
// autocannon here, 50 connections on loopback, drives two Nest apps in child processes
// (redis-server.mjs): one on the memory store, one on the Redis store at 127.0.0.1:6379 (the
// machine's Redis, a namespace of this run's own, removed afterwards). Every option is at its
// default, so replay protection is on: each POST carries a payload of its own, encrypted before
// the run (a replayed payload would be refused), and on Redis each costs two round trips (the
// session read, the replay mark); a GET of the session-only route costs one.
//
// Rounds alternate the store order (memory, redis, then redis, memory), so a drift of the
// machine's load hits both alike; the ratios are medians of per-round ratios. Bounded: a fixed
// number of rounds of fixed durations (smoke: a fixed number of requests).
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createClient } from '@keyv/redis';
import autocannon from 'autocannon';
import { wxUserId } from 'nestjs-wx-open-data/core';
import { RedisWxSessionStore } from 'nestjs-wx-open-data/redis';
// Internal, not an export of the package: the bench exercises the budget's store calls.
import { keyBudgetId } from '../dist/esm/session/session.js';
import { createSessionKey, encryptOpenData, signRawData } from 'nestjs-wx-open-data/testing';
import { BENCH_APP_ID, BENCH_OPENID, BENCH_PROFILE, BENCH_UNIONID } from './fixtures.mjs';
import { median } from './measure.mjs';

const SERVER = fileURLToPath(new URL('./redis-server.mjs', import.meta.url));
const REDIS_URL = 'redis://127.0.0.1:6379';
const APP_ID = BENCH_APP_ID;
const ROUTES = {
  session_only: { method: 'GET', path: '/me' },
  open_data: { method: 'POST', path: '/profile' },
};
const STORES = ['memory', 'redis'];
const OPENID = BENCH_OPENID;
const UNIONID = BENCH_UNIONID;
const PROFILE = BENCH_PROFILE;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Starts one server process and waits for its port. */
async function startServer(adapter, store, namespace) {
  const args = store === 'redis' ? [adapter, store, REDIS_URL, namespace] : [adapter, store];
  const child = fork(SERVER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${adapter}/${store} bench server: no answer`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${adapter}/${store} bench server exited with ${code}`)));
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
  });
  try {
    return { child, store, ...(await ready) };
  } catch (error) {
    child.kill();
    throw error;
  }
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  child.send({ type: 'stop' });
  await exited;
  clearTimeout(timer);
}

/**
 * Users the open-data route's requests are spread over, as an app's traffic is. One user's key
 * admits at most `maxKeyFailures` (5) evaluations in flight: 50 connections on one user would
 * measure 429 WX_KEY_BUSY, not the store.
 */
const USERS = 64;

/** `count` bench users, each with a key of their own; the first is the fixture's user. */
function newUsers(count) {
  return Array.from({ length: count }, (_, i) => ({
    openid: i === 0 ? OPENID : `${OPENID.slice(0, -4)}${String(i).padStart(4, '0')}`,
    unionid: i === 0 ? UNIONID : `${UNIONID.slice(0, -4)}${String(i).padStart(4, '0')}`,
    sessionKey: createSessionKey(),
  }));
}

/** Opens a session for `user` on a server; resolves to its token. */
function openSession(child, user) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message?.type !== 'session') return;
      child.off('message', onMessage);
      resolve(message.token);
    };
    child.on('message', onMessage);
    child.send({ type: 'session', ...user });
  });
}

/**
 * `count` requests of user-info bodies as wx.getUserInfo makes them, each with a ciphertext of its
 * own, taking turns over `users` (`tokens[i]` is the session of `users[i]`).
 */
function makeRequests(count, users, tokens) {
  const rawData = JSON.stringify(PROFILE);
  const signatures = users.map((user) => signRawData(rawData, user.sessionKey));
  const watermark = { appid: APP_ID, timestamp: Math.floor(Date.now() / 1000) };
  const requests = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const u = i % users.length;
    const { openid, unionid, sessionKey } = users[u];
    const payload = { openId: openid, ...PROFILE, unionId: unionid, watermark };
    const body = JSON.stringify({
      rawData,
      signature: signatures[u],
      ...encryptOpenData(payload, sessionKey),
    });
    requests[i] = { token: tokens[u], body };
  }
  return requests;
}

/**
 * One bounded autocannon run of `route`: session-only runs as the first user; open-data runs take
 * their body and token from `requests`, one per request. Every 2xx response's latency (ms) goes
 * to the result.
 */
function load(server, route, tokens, plan, requests) {
  const { method, path } = ROUTES[route];
  let next = 0;
  const request = { method, path };
  if (route === 'open_data') {
    request.setupRequest = (req) => {
      const { token, body } = requests[next++];
      req.headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
      req.body = body;
      return req;
    };
  }
  const latencies = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${server.port}`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
        requests: [request],
        connections: plan.connections,
        ...(plan.amount !== undefined ? { amount: plan.amount, sampleInt: 50 } : { duration: plan.seconds }),
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        if (route === 'open_data' && next > requests.length) {
          return reject(new Error(`${server.store} ${route}: ran out of payloads (${requests.length})`));
        }
        resolve({ result, latencies });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

/** Checks both routes answer 200 and that a replayed payload is refused: never time failures. */
async function checkServer(server, users, tokens) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` };
  const me = await fetch(`http://127.0.0.1:${server.port}/me`, {
    headers,
    signal: AbortSignal.timeout(5000),
  });
  const [{ body }] = makeRequests(1, users, tokens);
  const post = () =>
    fetch(`http://127.0.0.1:${server.port}/profile`, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(5000),
    });
  const first = await post();
  const replay = await post();
  if (me.status !== 200 || first.status !== 200 || replay.status !== 401) {
    throw new Error(
      `${server.store} server answered me ${me.status}, profile ${first.status}, replay ${replay.status}`,
    );
  }
}

function summarise(runs) {
  const ok = runs.reduce((n, r) => n + r.result['2xx'], 0);
  const seconds = runs.reduce((n, r) => n + r.result.duration, 0);
  const sorted = Float64Array.from(runs.flatMap((r) => r.latencies)).sort();
  const failures = runs.reduce((n, r) => n + r.result.non2xx + r.result.errors + r.result.timeouts, 0);
  return {
    req_per_sec: ok / seconds,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    requests: ok,
    failures,
    rounds_req_per_sec: runs.map((r) => r.result['2xx'] / r.result.duration),
  };
}

/** Both stores on one adapter. */
async function benchAdapter(adapter, plan, namespace, log) {
  const users = newUsers(USERS);
  const servers = {};
  try {
    for (const store of STORES) servers[store] = await startServer(adapter, store, namespace);
    const tokens = {};
    for (const store of STORES) {
      tokens[store] = [];
      for (const user of users) tokens[store].push(await openSession(servers[store].child, user));
      await checkServer(servers[store], users, tokens[store]);
    }
    // Payloads per open-data run: the session-only rate bounds the open-data rate from above.
    let perRun = plan.amount !== undefined ? plan.amount + 100 : 20_000;
    if (plan.warmupSeconds > 0) {
      let fastest = 0;
      for (const store of STORES) {
        const warm = await load(servers[store], 'session_only', tokens[store], {
          ...plan,
          seconds: plan.warmupSeconds,
        });
        fastest = Math.max(fastest, warm.result['2xx'] / warm.result.duration);
        await load(
          servers[store],
          'open_data',
          tokens[store],
          { ...plan, seconds: plan.warmupSeconds },
          makeRequests(Math.ceil(fastest * plan.warmupSeconds * 1.5) + 1000, users, tokens[store]),
        );
      }
      perRun = Math.ceil(fastest * plan.seconds * 1.5) + 1000;
    }
    const runs = Object.fromEntries(
      Object.keys(ROUTES).map((route) => [route, Object.fromEntries(STORES.map((s) => [s, []]))]),
    );
    for (let round = 0; round < plan.rounds; round += 1) {
      const order = round % 2 === 0 ? STORES : [...STORES].reverse();
      const line = [];
      for (const route of Object.keys(ROUTES)) {
        for (const store of order) {
          // Encrypted before the run, untimed; fresh watermarks for every run.
          const requests = route === 'open_data' ? makeRequests(perRun, users, tokens[store]) : undefined;
          const run = await load(servers[store], route, tokens[store], plan, requests);
          runs[route][store].push(run);
          line.push(`${route}/${store} ${Math.round(run.result['2xx'] / run.result.duration)}`);
        }
      }
      log?.(`  ${adapter} round ${round + 1}/${plan.rounds} req/s: ${line.join(', ')}`);
    }
    const routes = {};
    for (const route of Object.keys(ROUTES)) {
      const memory = summarise(runs[route].memory);
      const redis = summarise(runs[route].redis);
      for (const [store, s] of Object.entries({ memory, redis })) {
        if (s.failures > 0) throw new Error(`${adapter} ${route}/${store}: ${s.failures} failed requests`);
      }
      routes[route] = {
        memory,
        redis,
        redis_vs_memory: median(
          redis.rounds_req_per_sec.map((value, round) => value / memory.rounds_req_per_sec[round]),
        ),
      };
    }
    return { routes };
  } finally {
    for (const server of Object.values(servers)) await stopServer(server.child);
  }
}

/** MEMORY USAGE of every key one session (and one accepted payload) takes. */
async function bytesPerSession(namespace) {
  const store = new RedisWxSessionStore({ url: REDIS_URL, namespace: `${namespace}-bytes` });
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => undefined);
  try {
    await store.connect();
    await client.connect();
    const token = 'x'.repeat(43);
    const sessionKey = createSessionKey();
    await store.setUserKeys(
      wxUserId(APP_ID, OPENID),
      { sessionKey, version: Date.now() * 1000 },
      null,
      86_400,
    );
    await store.set(
      token,
      { openid: OPENID, unionid: UNIONID, appId: APP_ID, createdAt: Date.now() },
      86_400,
    );
    const budgetId = keyBudgetId(APP_ID, OPENID, sessionKey);
    await store.takeKeyAttempt(budgetId, 5, 86_400);
    await store.settleKeyAttempt(budgetId, false);
    const fingerprint = createHash('sha256').update('payload').digest('base64url');
    await store.claimPayload(fingerprint, 361);
    const ns = `${namespace}-bytes`;
    const hashed = createHash('sha256').update(token).digest('base64url');
    const usage = async (key) => Number(await client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
    const sessionRecord = await usage(`${ns}:session:{${hashed}}`);
    const userKeys = await usage(`${ns}:user:${APP_ID}:${OPENID}`);
    const rotated = {
      sessionKey: createSessionKey(),
      version: Date.now() * 1000 + 1,
      previousSessionKey: createSessionKey(),
      previousKeyExpiresAt: Date.now() + 30_000,
    };
    const version = Number(rotated.version) - 1;
    const currentVersion = (await store.getUserKeys(wxUserId(APP_ID, OPENID)))?.version ?? version;
    await store.setUserKeys(wxUserId(APP_ID, OPENID), rotated, currentVersion, 86_400);
    const userKeysInGrace = await usage(`${ns}:user:${APP_ID}:${OPENID}`);
    const info = String(await client.sendCommand(['INFO', 'server']));
    return {
      redis_version: /redis_version:(\S+)/.exec(info)?.[1],
      session_record: sessionRecord,
      user_keys: userKeys,
      per_session: sessionRecord + userKeys,
      user_keys_during_rotation_grace: userKeysInGrace,
      replay_mark_per_accepted_payload: await usage(`${ns}:replay:${fingerprint}`),
      key_attempt_budget: await usage(`${ns}:key-budget:{${budgetId}}`),
      note: 'MEMORY USAGE … SAMPLES 0, bytes; a session is its record plus its user’s keys (shared by all sessions of that user)',
    };
  } finally {
    await dropKeys(client, `${namespace}-bytes`).catch(() => undefined);
    client.destroy();
    await store.close();
  }
}

/** Removes every key of this run, batch by batch as SCAN finds them (a run leaves some 400,000). */
async function dropKeys(client, namespace) {
  if (!client.isOpen) return;
  for await (const batch of client.scanIterator({ MATCH: `${namespace}:*`, COUNT: 1000 })) {
    if (batch.length > 0) await client.unlink(batch);
  }
}

/**
 * @param options.smoke - a few hundred requests per run only
 * @param options.http - the HTTP plan of run.mjs: `{ connections, seconds, rounds, warmupSeconds }`
 *   or, smoke, `{ connections, amount, rounds, warmupSeconds }`; this bench takes the connections
 *   and the smoke amount from it and keeps its own rounds and durations (about 70 s in all)
 * @param options.log - progress lines
 * @returns `{ redis_vs_memory, ... }`: the headline is the lower of the two routes' ratios
 */
export async function runRedisBench({
  smoke = false,
  http = {},
  log = console.log,
  adapters = ['fastify'],
} = {}) {
  const plan = smoke
    ? { connections: http.connections ?? 10, amount: http.amount ?? 300, rounds: 1, warmupSeconds: 0 }
    : { connections: http.connections ?? 50, seconds: 1.5, rounds: 8, warmupSeconds: 1.5 };
  const namespace = `wx-bench:${process.pid}:${Date.now().toString(36)}`;
  const cleanup = createClient({ url: REDIS_URL });
  cleanup.on('error', () => undefined);
  try {
    await cleanup.connect();
  } catch (error) {
    throw new Error(`the Redis bench needs Redis at ${REDIS_URL}: ${error.message}`);
  }
  try {
    const bytes = await bytesPerSession(namespace);
    log?.(
      `  one session in Redis: ${bytes.per_session} bytes (record ${bytes.session_record} + user keys ${bytes.user_keys})`,
    );
    const byAdapter = {};
    for (const adapter of adapters) byAdapter[adapter] = await benchAdapter(adapter, plan, namespace, log);
    const ratios = Object.fromEntries(
      Object.entries(byAdapter).flatMap(([adapter, { routes }]) =>
        Object.entries(routes).map(([route, r]) => [`${adapter}_${route}`, r.redis_vs_memory]),
      ),
    );
    return {
      redis_vs_memory: Math.min(...Object.values(ratios)),
      ratios,
      ratio_definition:
        'Redis store req/s ÷ memory store req/s, same route and adapter; median over rounds; the headline is the lowest',
      plan,
      adapters: byAdapter,
      bytes,
    };
  } finally {
    await dropKeys(cleanup, namespace).catch(() => undefined);
    cleanup.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const adapters = process.argv.includes('--both') ? ['fastify', 'express'] : ['fastify'];
  const result = await runRedisBench({ smoke: process.argv.includes('--smoke'), adapters });
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
