// Issue 11 §5: what envelope encryption costs a guarded request. One getSessionWithKeys (the
// store read every guarded request makes) against the machine's Redis, with and without
// `encryption`, in alternating rounds so that both see the same load; and the opening of one
// sealed value alone, without Redis. Bounded: a few thousand reads.
//   npm run build && node bench/store-encryption.bench.mjs [reads per round]
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createSessionToken, wxUserId } from 'nestjs-wx-open-data/core';
import { RedisWxSessionStore } from 'nestjs-wx-open-data/redis';
import { createSessionKey } from 'nestjs-wx-open-data/testing';
import { BENCH_APP_ID } from './fixtures.mjs';

const READS = Math.min(Math.max(Number(process.argv[2] ?? 2000) || 2000, 100), 20_000);
const ROUNDS = 5;
const APP_ID = BENCH_APP_ID;
const namespace = `wx-bench:encryption:${randomBytes(4).toString('hex')}`;
const encryption = { keys: [{ id: 'bench', key: randomBytes(32).toString('base64') }] };

async function storeWith(options) {
  const store = new RedisWxSessionStore({
    url: 'redis://127.0.0.1:6379',
    namespace: `${namespace}:${options.label}`,
    ...options.extra,
  });
  await store.connect();
  const token = createSessionToken();
  const openid = `o-${options.label}`;
  await store.setUserKeys(
    wxUserId(APP_ID, openid),
    { sessionKey: createSessionKey(), version: Date.now() * 1000 },
    null,
    600,
  );
  await store.set(token, { openid, appId: APP_ID, createdAt: Date.now() }, 600);
  return { store, token };
}

async function round({ store, token }) {
  const started = performance.now();
  for (let i = 0; i < READS; i++) {
    const found = await store.getSessionWithKeys(token);
    if (found?.keys === undefined) throw new Error('no keys read back');
  }
  return ((performance.now() - started) * 1000) / READS;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const plain = await storeWith({ label: 'plain', extra: {} });
const sealed = await storeWith({ label: 'sealed', extra: { encryption } });
const times = { plain: [], sealed: [] };
try {
  await round(plain);
  await round(sealed);
  for (let r = 0; r < ROUNDS; r++) {
    times.plain.push(await round(plain));
    times.sealed.push(await round(sealed));
  }
} finally {
  await plain.store.close();
  await sealed.store.close();
}
const [p, s] = [median(times.plain), median(times.sealed)];

/** What the store does to open one user's sealed keys (about 90 bytes), without Redis. */
function openCostNs() {
  const key = createSecretKey(randomBytes(32));
  const aad = Buffer.from(`${namespace}:user:${APP_ID}:o-open|${Date.now() * 1000}`);
  const json = JSON.stringify({ sessionKey: createSessionKey(), version: Date.now() * 1000 });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  const body = Buffer.concat([cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const sealed = `bench.${iv.toString('base64url')}.${body.toString('base64url')}`;
  const runs = 20_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) {
    const [, ivText, bodyText] = sealed.split('.');
    const b = Buffer.from(bodyText, 'base64url');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
    d.setAAD(Buffer.from(aad.toString('utf8'), 'utf8'));
    d.setAuthTag(b.subarray(b.length - 16));
    JSON.parse(Buffer.concat([d.update(b.subarray(0, b.length - 16)), d.final()]).toString('utf8'));
  }
  return Number(process.hrtime.bigint() - started) / runs;
}
const openNs = median([openCostNs(), openCostNs(), openCostNs()]);
process.stdout.write(
  JSON.stringify({
    reads_per_round: READS,
    rounds: ROUNDS,
    read_us_plain: { min: Math.min(...times.plain), median: p, max: Math.max(...times.plain) },
    read_us_encrypted: { min: Math.min(...times.sealed), median: s, max: Math.max(...times.sealed) },
    encryption_cost_us: s - p,
    open_sealed_keys_ns: openNs,
    note: 'getSessionWithKeys on loopback Redis, sequential; the difference of medians is what opening the sealed keys adds to a guarded request',
  }) + '\n',
);
