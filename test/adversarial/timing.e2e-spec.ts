/**
 * Issue 11 §4: every key-dependent failure class answers in the same time, seen from outside.
 *
 * Over loopback, with equal-length bodies on one route, 6,000 requests per class interleaved at
 * random, the probability that a request of one class is slower than one of another (the
 * Mann-Whitney AUC) must stay within 0.5 ± 0.02 for every pair, and for an A/A control (the same
 * class split in two). What holds the line is the answer floor: a key-dependent failure answers
 * no sooner than a fixed time after the key work began (`keyFailureFloorMs`, default 10 ms),
 * whatever the work took.
 */
import { createCipheriv, randomInt } from 'node:crypto';
import { startAdversarialApp } from './support/app.js';
import {
  APP_ID,
  OTHER_APP_ID,
  PROFILE,
  nowSeconds,
  seededBytes,
  seededSessionKey,
} from './support/bodies.js';
import { runPool } from './support/http.js';
import { KEY_FAILURE_FLOOR_MS } from '../../lib/nest/answer-floor.js';
import { RunSummary } from './support/results.js';

/**
 * The audit measured 3,000 per class. At that size one pair's estimate has a standard error of
 * about 0.0075, so the ± 0.02 bound is 2.7 of them, and of 15 pairs one falls outside about one
 * run in ten with every class timed alike. 6,000 per class puts the same bound at 3.8 standard
 * errors: a failure then means a difference, not chance.
 */
const PER_CLASS = 6000;
const CONCURRENCY = 8;
/** Every body's ciphertext: 32 blocks. */
const CIPHER_BYTES = 512;
const PLAIN_BYTES = CIPHER_BYTES - 10; // PKCS#7 then adds 10 bytes of padding
const TOLERANCE = 0.02;

type TimingClass = 'badPaddingA' | 'badPaddingB' | 'badUtf8' | 'otherApp' | 'dtoInvalid' | 'replay';
const CLASSES: readonly TimingClass[] = [
  'badPaddingA',
  'badPaddingB',
  'badUtf8',
  'otherApp',
  'dtoInvalid',
  'replay',
];

const key = Buffer.from(seededSessionKey('timing'), 'base64');
const owner = { openid: 'o-timing-user', sessionKey: key.toString('base64'), appId: APP_ID };

/** Raw AES-128-CBC of whole blocks, no padding added: the caller controls every byte. */
function encryptBlocks(plain: Buffer, iv: Buffer): string {
  const cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

/** `text` (ASCII JSON) made exactly PLAIN_BYTES long with a trailing filler field, then padded. */
function padded(json: Record<string, unknown>): Buffer {
  const base = JSON.stringify({ ...json, zz: '' });
  const text = `${base.slice(0, -2)}${'z'.repeat(PLAIN_BYTES - base.length)}"}`;
  if (text.length !== PLAIN_BYTES) throw new Error(`filler: ${text.length}`);
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.alloc(10, 10)]);
}

function body(kind: TimingClass, index: number, replayed: string): string {
  const iv = seededBytes(`timing:${kind}:${index}`);
  const watermark = { timestamp: nowSeconds(), appid: APP_ID };
  let encryptedData: string;
  switch (kind) {
    case 'badPaddingA':
    case 'badPaddingB': {
      // Any content, last byte 0: never valid PKCS#7.
      const plain = Buffer.concat([seededBytes(`p:${kind}:${index}`), Buffer.alloc(CIPHER_BYTES - 16, 0x41)]);
      plain[CIPHER_BYTES - 1] = 0;
      encryptedData = encryptBlocks(plain, iv);
      break;
    }
    case 'badUtf8':
      encryptedData = encryptBlocks(
        Buffer.concat([Buffer.alloc(PLAIN_BYTES, 0xff), Buffer.alloc(10, 10)]),
        iv,
      );
      break;
    case 'otherApp':
      encryptedData = encryptBlocks(
        padded({ openId: owner.openid, ...PROFILE, watermark: { ...watermark, appid: OTHER_APP_ID } }),
        iv,
      );
      break;
    case 'dtoInvalid':
      encryptedData = encryptBlocks(
        padded({ openId: owner.openid, ...PROFILE, gender: 'male', watermark }),
        iv,
      );
      break;
    case 'replay':
      // The same bytes in a string of its own, as cold in memory as every other body.
      return Buffer.from(replayed, 'latin1').toString('latin1');
  }
  return JSON.stringify({ encryptedData, iv: iv.toString('base64') });
}

/** P(a sample of `a` is slower than one of `b`), ties counting half. */
function slowerProbability(a: readonly number[], b: readonly number[]): number {
  const all = [...a.map((v) => [v, 0] as const), ...b.map((v) => [v, 1] as const)].sort(
    (x, y) => x[0] - y[0],
  );
  let rankSumA = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]![0] === all[i]![0]) j += 1;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k += 1) if (all[k]![1] === 0) rankSumA += rank;
    i = j;
  }
  const u = rankSumA - (a.length * (a.length + 1)) / 2;
  return u / (a.length * b.length);
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

describe('key-dependent failures are indistinguishable by time (fastify, memory store)', () => {
  const summary = new RunSummary('timing');
  afterAll(() => {
    summary.write();
  });

  it(`${PER_CLASS} requests per class: every pair within 0.5 ± ${TOLERANCE}`, async () => {
    const app = await startAdversarialApp('fastify', {
      module: { maxKeyFailures: false },
      maxSockets: CONCURRENCY,
    });
    try {
      const token = await app.sessions.create(owner);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      // The replayed payload: genuine, accepted once, then sent again and again.
      const genuineIv = seededBytes('timing:genuine');
      const genuine = JSON.stringify({
        encryptedData: encryptBlocks(
          padded({ openId: owner.openid, ...PROFILE, watermark: { timestamp: nowSeconds(), appid: APP_ID } }),
          genuineIv,
        ),
        iv: genuineIv.toString('base64'),
      });
      const first = await app.client.send({ path: '/profile', headers, body: genuine });
      expect(first.status).toBe(200);

      // Built before the run; shuffled (Fisher-Yates, crypto randomness) so that every order is
      // equally likely: then load drifts hit every class alike, and with no difference between
      // the classes each pair's figure has exactly the Mann-Whitney spread the bound is set for.
      const work: Array<{ kind: TimingClass; body: string }> = [];
      for (const kind of CLASSES)
        for (let i = 0; i < PER_CLASS; i += 1) work.push({ kind, body: body(kind, i, genuine) });
      for (let i = work.length - 1; i > 0; i -= 1) {
        const j = randomInt(i + 1);
        [work[i], work[j]] = [work[j]!, work[i]!];
      }
      // Warm-up: JIT and sockets, not measured.
      await runPool(work.slice(0, 400), CONCURRENCY, 60_000, (item) =>
        app.client.send({ path: '/profile', headers, body: item.body }),
      );
      const { results, timedOut } = await runPool(work, CONCURRENCY, 240_000, (item) =>
        app.client.send({ path: '/profile', headers, body: item.body }),
      );
      expect(timedOut).toBe(false);
      const times = new Map<TimingClass, number[]>(CLASSES.map((kind) => [kind, []]));
      const answers = new Set<string>();
      results.forEach((res, i) => {
        answers.add(`${res.status} ${res.text}`);
        times.get(work[i]!.kind)!.push(res.ms);
      });
      // One answer for all of them, byte for byte.
      expect([...answers]).toHaveLength(1);
      expect([...answers][0]).toContain('401');

      const pairs: Record<string, number> = {};
      for (let i = 0; i < CLASSES.length; i += 1) {
        for (let j = i + 1; j < CLASSES.length; j += 1) {
          const [a, b] = [CLASSES[i]!, CLASSES[j]!];
          pairs[`${a} vs ${b}`] = Number(slowerProbability(times.get(a)!, times.get(b)!).toFixed(4));
        }
      }
      const medians: Record<string, string> = {};
      let fastest = Number.POSITIVE_INFINITY;
      for (const [kind, list] of times) {
        const sorted = [...list].sort((x, y) => x - y);
        fastest = Math.min(fastest, sorted[0]!);
        medians[kind] =
          `p50 ${quantile(sorted, 0.5).toFixed(3)} ms, p90 ${quantile(sorted, 0.9).toFixed(3)} ms`;
      }
      summary.record('timing', 'fastify', { perClass: PER_CLASS, concurrency: CONCURRENCY, pairs, medians });
      console.log(JSON.stringify({ pairs, medians }, null, 2));
      // The floor holds: no key-dependent failure answered sooner.
      expect(fastest).toBeGreaterThanOrEqual(KEY_FAILURE_FLOOR_MS);
      for (const [pair, p] of Object.entries(pairs)) {
        expect({ pair, p, ok: Math.abs(p - 0.5) <= TOLERANCE }).toEqual({ pair, p, ok: true });
      }
    } finally {
      await app.close();
    }
  }, 400_000);

  it('keyFailureFloorMs sets the floor: every key-dependent failure waits at least that long', async () => {
    const floorMs = 60;
    const app = await startAdversarialApp('fastify', {
      module: { maxKeyFailures: false, keyFailureFloorMs: floorMs },
    });
    try {
      const token = await app.sessions.create(owner);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      for (const kind of ['badPaddingA', 'badUtf8', 'otherApp', 'dtoInvalid'] as const) {
        const res = await app.client.send({ path: '/profile', headers, body: body(kind, 0, '') });
        expect({ kind, status: res.status, floored: res.ms >= floorMs }).toEqual({
          kind,
          status: 401,
          floored: true,
        });
      }
    } finally {
      await app.close();
    }
  });
});
