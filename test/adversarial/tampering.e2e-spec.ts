/**
 * Issue 6, bad input: tampering with valid envelopes, over real HTTP on both adapters.
 *
 * - every bit flip of a valid ciphertext and iv, per payload kind;
 * - the 48 invalid AES-128 Wycheproof cases as request bodies;
 * - `__proto__`, `constructor`, `prototype` keys in decrypted payloads and in rawData;
 * - strict base64, proven by counting `createDecipheriv` calls;
 * - oversize bodies and fields;
 * - the signature check's constant-time comparison, proven by its structure.
 *
 * `node:crypto` is replaced by a counting pass-through before the library loads (see
 * support/crypto-spy.ts), so the library and the app are imported dynamically below.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { installCryptoSpy } from './support/crypto-spy.js';
import type { AdversarialApp, ObjectView } from './support/app.js';
import type { OpenDataBody, PayloadKind } from './support/bodies.js';
import type { RawResponse } from './support/http.js';

const calls = installCryptoSpy();
/** Flips in flight at once. */
const FLIP_CONCURRENCY = 32;
const { ADAPTERS } = await import('../support/nest-app.js');
const { wycheproofCases } = await import('../support/wycheproof.js');
const { APP_SECRET, BODY_LIMIT_BYTES, freshTokens, OTHER_APP_SECRET, probe, startAdversarialApp } =
  await import('./support/app.js');
const {
  APP_ID,
  KIND_ROUTES,
  PAYLOAD_KINDS,
  PROFILE,
  encryptText,
  flipBit,
  nowSeconds,
  payloadText,
  seededBytes,
  seededSessionKey,
  validBody,
} = await import('./support/bodies.js');
const { replayHint, SEED } = await import('./support/env.js');
const { answerKey, runPool } = await import('./support/http.js');
const { rejectionCanary, watchProcess } = await import('./support/process-watch.js');
const { plantInto, protoPlantArb, prototypeSnapshot } = await import('./support/proto-keys.js');
const { RunSummary } = await import('./support/results.js');
const { SecretLedger } = await import('./support/secrets.js');
const { signRawData } = await import('../../lib/testing/index.js');

const summary = new RunSummary('tampering');
const ledger = new SecretLedger();
ledger.addSecret('app secret', APP_SECRET);
ledger.addSecret('other app secret', OTHER_APP_SECRET);

const events = watchProcess();
const prototypesAtStart = prototypeSnapshot();
afterAll(() => {
  events.stop();
  const { file, fragment } = summary.write();
  console.log(`adversarial summary (${file}):\n${JSON.stringify(fragment.categories, null, 2)}`);
});

const REJECTED_BODY = {
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_OPEN_DATA_REJECTED',
  message: 'WeChat open data rejected',
};
/** Every decrypted user-info property the DTO declares: nothing else may reach a handler. */
const USER_INFO_KEYS = [
  'openId',
  'unionId',
  'nickName',
  'gender',
  'language',
  'city',
  'province',
  'country',
  'avatarUrl',
  'watermark',
];
const SESSION_KEYS = ['openid', 'unionid', 'appId'];
const PROTO_CASES = 120;

it('the process watcher hears an unhandled rejection (canary, so the final check can fail)', async () => {
  expect(await rejectionCanary(events)).toBe(true);
});

describe.each(ADAPTERS)('tampered envelopes over HTTP (%s)', (adapter) => {
  const seed = SEED + 100 + ADAPTERS.indexOf(adapter);
  let h: AdversarialApp;
  let token: string;
  let reference: RawResponse;
  const owner = {
    openid: 'oTamperUser0000000000000000001',
    unionid: 'uTamperUnion0001',
    sessionKey: seededSessionKey(`tamper:${adapter}`),
  };
  const json = { 'content-type': 'application/json' };
  const auth = (bearer: string): Record<string, string> => ({ ...json, authorization: `Bearer ${bearer}` });
  /**
   * Posts `body` with `bearer`, or with a new session of the owner: the library revokes a session
   * after a few key-dependent failures, and each answer here must be the payload's own verdict.
   */
  const post = async (path: string, body: unknown, bearer?: string): Promise<RawResponse> =>
    h.client.send({
      path,
      headers: auth(bearer ?? (await h.sessions.create(owner))),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const keep = (res: RawResponse): RawResponse => {
    ledger.recordResponse(`${adapter} tampering`, res);
    return res;
  };
  const rejectedLines = (): number => h.logger.lines.filter((line) => line.includes(' rejected: ')).length;

  beforeAll(async () => {
    // The key-attempt budget is per user key, shared by every session of it: with a budget, the
    // suite's many refused payloads under one key would spend it, and later answers would show
    // the budget, not their payload's verdict. The budget has its own attack suite
    // (key-budget.e2e-spec.ts).
    // Every refused flip waits out the answer floor (4 ms): more in flight keeps the run short.
    h = await startAdversarialApp(adapter, {
      module: { maxKeyFailures: false },
      maxSockets: FLIP_CONCURRENCY,
    });
    ledger.watchLogger(adapter, h.logger);
    ledger.addSessionKey(owner.sessionKey, `${adapter} tamper user key`);
    token = await h.sessions.create(owner);
    reference = keep(await post('/profile', { ...validBody('userInfo', owner), signature: '0'.repeat(40) }));
  });
  afterAll(async () => {
    await h.close();
  });

  it('the reference answer is the documented uniform 401, and each valid body is accepted', async () => {
    expect(reference.status).toBe(401);
    expect(JSON.parse(reference.text)).toEqual(REJECTED_BODY);
    for (const kind of PAYLOAD_KINDS) {
      expect([kind, keep(await post(KIND_ROUTES[kind], validBody(kind, owner))).status]).toEqual([kind, 200]);
    }
  });

  describe('every bit flip of a valid ciphertext and iv is refused with one byte-identical answer', () => {
    const flipFigures: Record<string, Record<string, unknown>> = {};
    afterAll(() => summary.record('bitFlips', adapter, flipFigures));

    const cases = PAYLOAD_KINDS.flatMap((kind) => [
      [kind, 'encryptedData'],
      [kind, 'iv'],
    ]) as Array<[PayloadKind, 'encryptedData' | 'iv']>;

    it.each(cases)(
      '%s: flips of %s',
      async (kind, field) => {
        const body = validBody(kind, owner);
        const bits = Buffer.from(body[field], 'base64').length * 8;
        const handlerCalls = probe.handlerCalls;
        const answers = new Map<string, number[]>();
        const replayedBefore = h.logger.containing('PAYLOAD_REPLAYED').length;
        const tokens = await freshTokens(h, owner, bits);
        const { completed, timedOut } = await runPool(
          Array.from({ length: bits }, (_, bit) => bit),
          FLIP_CONCURRENCY,
          60_000,
          async (bit) => {
            const res = keep(
              await post(KIND_ROUTES[kind], { ...body, [field]: flipBit(body[field], bit) }, tokens[bit]),
            );
            const key = answerKey(res);
            answers.set(key, [...(answers.get(key) ?? []), bit]);
          },
        );
        const accepted = [...answers.entries()]
          .filter(([key]) => key.startsWith('200\n'))
          .flatMap(([, list]) => list);
        // Flips that passed every check but were refused only because an earlier accepted flip had
        // already claimed the same ciphertext in the replay cache (the iv is not fingerprinted).
        const replayed = h.logger.containing('PAYLOAD_REPLAYED').length - replayedBefore;
        flipFigures[`${kind} ${field}`] = {
          flips: completed,
          distinctAnswers: answers.size,
          answers: Object.fromEntries(
            [...answers.entries()].map(([key, list]) => [key.split('\n')[0], list.length]),
          ),
          accepted: accepted.length,
          refusedOnlyAsReplays: replayed,
          acceptedAtBytes: [...new Set(accepted.map((bit) => bit >> 3))],
        };
        expect(timedOut).toBe(false);
        expect(completed).toBe(bits);
        if (kind === 'share' && field === 'iv') {
          // The one flip no server can refuse. AES-CBC has no MAC: the iv decides the first plaintext
          // block, `{"openGId":"tGz3`, and the group id has nothing to be checked against (unlike
          // openId, bound to the session). So flips of iv bytes 12-15 yield another, well-formed
          // group id. What the library still guarantees: nothing outside those 4 characters can be
          // rewritten, and the replay cache lets at most one variant of a ciphertext through.
          // README "Security notes" says so; WeChat's scheme offers nothing stronger.
          expect(accepted.every((bit) => bit >> 3 >= 12 && bit >> 3 <= 15)).toBe(true);
          expect(accepted.length).toBeLessThanOrEqual(1);
          expect([...answers.keys()].filter((key) => !key.startsWith('200\n'))).toEqual([
            answerKey(reference),
          ]);
          return;
        }
        if (accepted.length > 0) {
          const firstBlock = Buffer.from(payloadText(kind, owner, 0))
            .subarray(0, 16)
            .toString('latin1');
          throw new Error(
            `${accepted.length} of ${bits} ${field} flips were ACCEPTED (200) for ${kind}, and ${replayed} more ` +
              `passed every check and were refused only as replays of the accepted one; first plaintext block ` +
              `${JSON.stringify(firstBlock)}; accepted bits ${accepted.join(',')} (byte = bit >> 3)`,
          );
        }
        expect([...answers.keys()]).toEqual([answerKey(reference)]);
        expect(probe.handlerCalls).toBe(handlerCalls);
      },
      90_000,
    );
  });

  it('all 48 invalid AES-128 Wycheproof cases, with the vector key as session key: byte-identical 401s', async () => {
    const invalid = wycheproofCases(128).filter((c) => c.result === 'invalid');
    expect(invalid).toHaveLength(48);
    const decipherBefore = calls.deciphers;
    const answers = new Set<string>();
    let wholeBlocks = 0;
    for (const vector of invalid) {
      const sessionKey = Buffer.from(vector.key, 'hex').toString('base64');
      ledger.addSessionKey(sessionKey, `Wycheproof tcId ${vector.tcId} key`);
      const bearer = await h.sessions.create({ openid: `oWycheproof${vector.tcId}`, sessionKey });
      const ct = Buffer.from(vector.ct, 'hex');
      if (ct.length > 0 && ct.length % 16 === 0) wholeBlocks += 1;
      const body = {
        encryptedData: ct.toString('base64'),
        iv: Buffer.from(vector.iv, 'hex').toString('base64'),
      };
      answers.add(answerKey(keep(await post('/share', body, bearer))));
    }
    summary.record('wycheproofInvalid', adapter, {
      cases: invalid.length,
      reachedDecipher: calls.deciphers - decipherBefore,
      distinctAnswers: answers.size,
      answer: [...answers].map((key) => key.split('\n')[0]),
    });
    expect([...answers]).toEqual([answerKey(reference)]);
    // Whole-block ciphertexts reach the cipher (their padding fails there); the rest fail before.
    expect(calls.deciphers - decipherBefore).toBe(wholeBlocks);
    expect(wholeBlocks).toBeGreaterThan(40);
  });

  describe('prototype keys at random depths', () => {
    const figures: Record<string, unknown> = {};
    afterAll(() => summary.record('prototypeKeys', adapter, figures));

    it(`${PROTO_CASES} decrypted payloads with __proto__/constructor/prototype keys: refused, prototypes unchanged; harmless controls accepted`, async () => {
      const plants = fc.sample(protoPlantArb, { seed, numRuns: PROTO_CASES });
      const handlerCalls = probe.handlerCalls;
      const answers = new Set<string>();
      const controls: Record<number, number> = {};
      const failures: string[] = [];
      for (const [index, plant] of plants.entries()) {
        const payload = JSON.parse(payloadText('userInfo', owner, nowSeconds())) as Record<string, unknown>;
        const iv = seededBytes(`proto:${adapter}:${index}`);
        const forged = encryptText(plantInto(payload, plant), owner.sessionKey, iv);
        for (const route of ['/profile', '/plain']) {
          const res = keep(await post(route, forged));
          answers.add(answerKey(res));
          if (res.status !== 401)
            failures.push(`#${index} ${route} ${JSON.stringify(plant)} → ${res.status}`);
        }
        // The same text with a harmless key: accepted, so the refusal above is the key's doing.
        const control = encryptText(plantInto(payload, plant, 'harmless'), owner.sessionKey, iv);
        const res = keep(await post('/plain', control));
        controls[res.status] = (controls[res.status] ?? 0) + 1;
        if (res.status !== 200)
          failures.push(`#${index} control ${JSON.stringify(plant)} → ${res.status} ${res.text}`);
      }
      figures['decryptedPayloads'] = {
        cases: plants.length,
        requests: plants.length * 2,
        distinctAnswers: answers.size,
        controls,
        handlerRunsOnForged: probe.handlerCalls - handlerCalls - (controls[200] ?? 0),
      };
      if (failures.length > 0) throw new Error(`${replayHint()}\n${failures.slice(0, 10).join('\n')}`);
      expect([...answers]).toEqual([answerKey(reference)]);
      expect(probe.handlerCalls - handlerCalls).toBe(controls[200]);
      expect(prototypeSnapshot()).toBe(prototypesAtStart);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    }, 60_000);

    it(`${PROTO_CASES} signed rawData texts with prototype keys (and such keys beside the envelope): no extra property on anything the handler sees`, async () => {
      const plants = fc.sample(protoPlantArb, { seed: seed + 1, numRuns: PROTO_CASES });
      const statuses: Record<string, number> = {};
      const failures: string[] = [];
      for (const [index, plant] of plants.entries()) {
        const rawData = plantInto({ ...PROFILE }, plant);
        const encrypted = validBody('userInfo', owner, { iv: seededBytes(`raw:${adapter}:${index}`) });
        const fields = {
          rawData,
          signature: signRawData(rawData, owner.sessionKey),
          encryptedData: encrypted.encryptedData,
          iv: encrypted.iv,
        };
        // Every other case also carries prototype keys at the top of the request body itself.
        const envelopeText =
          index % 2 === 0
            ? JSON.stringify(fields)
            : `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${JSON.stringify(fields).slice(1)}`;
        const res = keep(await post('/profile', envelopeText));
        statuses[`${index % 2 === 0 ? 'rawData only' : 'rawData + body keys'} ${res.status}`] =
          (statuses[`${index % 2 === 0 ? 'rawData only' : 'rawData + body keys'} ${res.status}`] ?? 0) + 1;
        // Fastify refuses prototype keys in a JSON body outright (400); Express keeps them as own keys.
        const expected = index % 2 === 1 && adapter === 'fastify' ? 400 : 200;
        if (res.status !== expected) {
          failures.push(`#${index} expected ${expected}, got ${res.status} ${res.text.slice(0, 200)}`);
          continue;
        }
        if (res.status !== 200) continue;
        const view = (JSON.parse(res.text) as { view: ObjectView }).view;
        const problem = checkHandlerView(view);
        if (problem !== undefined) failures.push(`#${index} ${problem}`);
      }
      figures['rawData'] = { cases: plants.length, statuses };
      if (failures.length > 0) throw new Error(`${replayHint()}\n${failures.slice(0, 10).join('\n')}`);
      expect(prototypeSnapshot()).toBe(prototypesAtStart);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    }, 60_000);

    it('undeclared keys in a decrypted payload never reach the DTO the handler gets', async () => {
      const payload = JSON.parse(payloadText('userInfo', owner, nowSeconds())) as Record<string, unknown>;
      const text = JSON.stringify({
        ...payload,
        isAdmin: true,
        role: 'root',
        watermark: { ...(payload['watermark'] as object), isAdmin: true },
      });
      const res = keep(await post('/profile', encryptText(text, owner.sessionKey, seededBytes('extra'))));
      expect(res.status).toBe(200);
      const view = (JSON.parse(res.text) as { view: ObjectView }).view;
      expect(checkHandlerView(view)).toBeUndefined();
      expect(res.text).not.toContain('isAdmin');
    });
  });

  describe('strict base64: mangled values get a 400 naming the field, and the decipher never runs', () => {
    /** A share body whose ciphertext and iv spell `+` and `/` and end in padding, found by a bounded search. */
    function manglableBody(): OpenDataBody {
      for (let attempt = 0; attempt < 2_000; attempt++) {
        const iv = seededBytes(`b64:${attempt}`);
        const openGId = `tG${'x'.repeat(attempt % 40)}`;
        const text = JSON.stringify({ openGId, watermark: { timestamp: nowSeconds(), appid: APP_ID } });
        const body = encryptText(text, owner.sessionKey, iv);
        const good = (value: string): boolean => /\+/.test(value) && /\//.test(value) && value.endsWith('=');
        if (good(body.encryptedData) && good(body.iv)) return body;
      }
      throw new Error('no manglable body within 2,000 attempts');
    }

    const manglings: Array<[string, (value: string) => string, boolean]> = [
      // [name, mangle, whether Node's lenient decoder would still yield the same bytes]
      ["every '+' turned into a space (form decoding)", (v) => v.replaceAll('+', ' '), false],
      ["one '+' turned into a space", (v) => v.replace('+', ' '), false],
      ['base64url alphabet, padding kept', (v) => v.replaceAll('+', '-').replaceAll('/', '_'), true],
      [
        'base64url alphabet, padding dropped',
        (v) => v.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''),
        true,
      ],
      ['missing padding', (v) => v.replace(/=+$/, ''), true],
      ['one padding character short', (v) => v.slice(0, -1), true],
      ['extra padding', (v) => `${v}=`, true],
      ['a trailing newline', (v) => `${v}\n`, true],
      ['a leading space', (v) => ` ${v}`, true],
      ['MIME line breaks every 16 characters', (v) => v.replace(/(.{16})/g, '$1\r\n'), true],
      [
        'non-zero unused bits before the padding',
        (v) => {
          const match = /([A-Za-z0-9+/])(=+)$/.exec(v) as RegExpExecArray;
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
          const digit = alphabet.indexOf(match[1] as string);
          return v.slice(0, match.index) + alphabet.charAt(digit ^ 1) + (match[2] as string);
        },
        true,
      ],
      ["'+' percent-encoded", (v) => v.replaceAll('+', '%2B'), false],
    ];
    const rows = (['encryptedData', 'iv'] as const).flatMap((field) =>
      manglings.map(([name, mangle, lenient]) => [field, name, mangle, lenient] as const),
    );
    const figures: Record<string, unknown> = {};
    afterAll(() => summary.record('strictBase64', adapter, figures));

    it('control: the unmangled body is accepted and runs the decipher exactly once', async () => {
      const body = manglableBody();
      const before = calls.deciphers;
      expect(keep(await post('/share', body)).status).toBe(200);
      expect(calls.deciphers - before).toBe(1);
    });

    it.each(rows)('%s: %s → 400, no decipher', async (field, name, mangle, lenient) => {
      const body = manglableBody();
      const mangled = mangle(body[field]);
      expect(mangled).not.toBe(body[field]);
      // Node's own decoder would have "repaired" most of these into the same bytes.
      expect(Buffer.from(mangled, 'base64').equals(Buffer.from(body[field], 'base64'))).toBe(lenient);
      const before = calls.deciphers;
      const lines = rejectedLines();
      const res = keep(await post('/share', { ...body, [field]: mangled }));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        code: 'WX_MALFORMED_PAYLOAD',
        message: `${field}: must be canonical base64`,
        field,
      });
      expect(calls.deciphers - before).toBe(0);
      // The library itself refused it (its log line), not the body parser.
      expect(rejectedLines() - lines).toBe(1);
      figures[`${field}: ${name}`] = {
        status: res.status,
        deciphers: calls.deciphers - before,
        nodeWouldRepair: lenient,
      };
    });
  });

  describe('oversize bodies → 413 before parsing; oversize fields → 400', () => {
    const figures: Record<string, unknown> = {};
    afterAll(() => summary.record('oversize', adapter, figures));

    /** A valid share body padded with an ignored field to exactly `bytes` bytes of JSON. */
    function paddedBody(bytes: number): string {
      const base = JSON.stringify({ ...validBody('share', owner), padding: '' });
      return `${base.slice(0, -2)}${'x'.repeat(bytes - base.length)}"}`;
    }
    const oversize = (bytes: number): string => paddedBody(bytes);
    const send413 = async (
      name: string,
      request: Parameters<AdversarialApp['client']['send']>[0],
      expected = 413,
    ) => {
      const handlerCalls = probe.handlerCalls;
      const lines = rejectedLines();
      const started = Date.now();
      const res = keep(await h.client.send({ fresh: true, ...request }));
      figures[name] = { bytes: request.body?.length, status: res.status, ms: Date.now() - started };
      expect(res.status).toBe(expected);
      if (expected === 413) expect(JSON.parse(res.text)).toMatchObject({ statusCode: 413 });
      expect(probe.handlerCalls).toBe(handlerCalls);
      // The guard never ran: it logs every request it refuses.
      expect(rejectedLines()).toBe(lines);
    };

    it(`a valid body of exactly ${BODY_LIMIT_BYTES} bytes passes the limit (the boundary is inclusive)`, async () => {
      const body = paddedBody(BODY_LIMIT_BYTES);
      expect(Buffer.byteLength(body)).toBe(BODY_LIMIT_BYTES);
      const res = keep(await h.client.send({ path: '/share', headers: auth(token), body, fresh: true }));
      figures['exactly the limit, valid'] = { bytes: BODY_LIMIT_BYTES, status: res.status };
      expect(res.status).toBe(200);
    });

    it('one byte over the limit → 413, without the guard or handler running', async () => {
      await send413('limit + 1, valid JSON', {
        path: '/share',
        headers: auth(token),
        body: oversize(BODY_LIMIT_BYTES + 1),
      });
    });

    it('invalid JSON over the limit → 413, not 400: the size is checked before any parsing', async () => {
      const body = `{"encryptedData":${'['.repeat(BODY_LIMIT_BYTES)}`;
      await send413('limit + 1, invalid JSON', { path: '/share', headers: auth(token), body });
      // The same invalid JSON under the limit is a parse error: 400.
      const small = keep(await post('/share', `{"encryptedData":${'['.repeat(100)}`));
      expect(small.status).toBe(400);
    });

    it('1 MiB → 413', async () => {
      await send413('1 MiB', { path: '/share', headers: auth(token), body: oversize(1 << 20) });
    });

    it('chunked, without Content-Length, over the limit → 413', async () => {
      await send413('chunked limit + 1', {
        path: '/share',
        headers: auth(token),
        body: oversize(BODY_LIMIT_BYTES + 1),
        chunked: true,
      });
      await send413('chunked 1 MiB', {
        path: '/share',
        headers: auth(token),
        body: oversize(1 << 20),
        chunked: true,
      });
    });

    it('a gzip bomb (1 KiB that inflates to 1 MiB) → Express 413 on the inflated size; Fastify does not inflate (400)', async () => {
      const body = gzipSync(Buffer.from(oversize(1 << 20)));
      expect(body.length).toBeLessThan(BODY_LIMIT_BYTES);
      await send413(
        'gzip bomb',
        { path: '/share', headers: { ...auth(token), 'content-encoding': 'gzip' }, body },
        adapter === 'express' ? 413 : 400,
      );
    });

    it.each([
      ['encryptedData', 8193, 'must be at most 8192 characters'],
      ['encryptedData', 12_000, 'must be at most 8192 characters'],
      ['rawData', 4097, 'must be at most 4096 characters'],
      ['signature', 129, 'must be at most 128 characters'],
      ['iv', 65, 'must be at most 64 characters'],
    ] as const)(
      '%s of %i characters → 400 naming it, nothing decrypted or compared',
      async (field, length, reason) => {
        // rawData and signature on a signed body, the encrypted fields on an encrypted-only one: the
        // guard checks a signature before the interceptor looks at the encrypted half.
        const signed = field === 'rawData' || field === 'signature';
        const body = {
          ...validBody(signed ? 'userInfo' : 'share', owner),
          [field]: 'QUFB'.repeat(length).slice(0, length),
        };
        const deciphers = calls.deciphers;
        const comparisons = calls.timingSafeEqual.length;
        const res = keep(await post(signed ? '/profile' : '/share', body));
        figures[`${field} ${length} chars`] = { status: res.status };
        expect(res.status).toBe(400);
        expect(JSON.parse(res.text)).toMatchObject({
          code: 'WX_MALFORMED_PAYLOAD',
          field,
          message: `${field}: ${reason}`,
        });
        expect(calls.deciphers).toBe(deciphers);
        expect(calls.timingSafeEqual.length).toBe(comparisons);
      },
    );

    it('encryptedData of exactly 8192 characters is within the limit: decrypted, and refused with the uniform 401', async () => {
      const encryptedData = Buffer.alloc(6144, 7).toString('base64');
      expect(encryptedData).toHaveLength(8192);
      const deciphers = calls.deciphers;
      const res = keep(await post('/share', { encryptedData, iv: validBody('share', owner).iv }));
      figures['encryptedData 8192 chars'] = { status: res.status };
      expect(answerKey(res)).toBe(answerKey(reference));
      expect(calls.deciphers - deciphers).toBe(1);
    });
  });

  describe('the signature check compares two 20-byte buffers in constant time, whatever the input', () => {
    const figures: Record<string, unknown> = {};
    afterAll(() => summary.record('constantTimeSignature', adapter, figures));

    it('one timingSafeEqual of 20 + 20 bytes per well-formed signature, right or wrong, wherever it differs', async () => {
      const body = validBody('userInfo', owner);
      const good = body.signature as string;
      const flipHex = (at: number): string =>
        good.slice(0, at) + (good[at] === '0' ? '1' : '0') + good.slice(at + 1);
      const signatures: Array<[string, string, number]> = [
        ['valid', good, 200],
        ['valid, upper-case hex', good.toUpperCase(), 200],
        ['wrong first character', flipHex(0), 401],
        ['wrong last character', flipHex(39), 401],
        ['all zeros', '0'.repeat(40), 401],
        ['signed with another key', signRawData(body.rawData as string, seededSessionKey('another')), 401],
        ...fc
          .sample(fc.uint8Array({ minLength: 20, maxLength: 20 }), { seed, numRuns: 20 })
          .map((bytes, i): [string, string, number] => [
            `random ${i}`,
            Buffer.from(bytes).toString('hex'),
            401,
          ]),
      ];
      const wrongAnswers = new Set<string>();
      for (const [name, signature, status] of signatures) {
        const before = calls.timingSafeEqual.length;
        // A new ciphertext each time: replay protection accepts each payload once.
        const res = keep(await post('/profile', { ...validBody('userInfo', owner), signature }));
        const made = calls.timingSafeEqual.slice(before);
        expect([name, res.status]).toEqual([name, status]);
        expect([
          name,
          made.map(({ aBytes, bBytes, bothBuffers }) => ({ aBytes, bBytes, bothBuffers })),
        ]).toEqual([name, [{ aBytes: 20, bBytes: 20, bothBuffers: true }]]);
        if (status === 401) wrongAnswers.add(answerKey(res));
      }
      expect([...wrongAnswers]).toEqual([answerKey(reference)]);
      figures['well-formed signatures'] = {
        requests: signatures.length,
        comparisonsEach: 1,
        bytesCompared: '20 + 20',
      };
    });

    it('a malformed signature (not 40 hex characters) is refused on its public shape alone: no comparison, same 401', async () => {
      const body = validBody('userInfo', owner);
      const malformed = [
        '',
        'a'.repeat(39),
        'a'.repeat(41),
        'g'.repeat(40),
        `${'a'.repeat(38)} a`,
        'ａ'.repeat(40),
        '0x' + 'a'.repeat(38),
      ];
      for (const signature of malformed) {
        const before = calls.timingSafeEqual.length;
        const res = keep(await post('/profile', { ...body, signature }));
        expect([signature, answerKey(res)]).toEqual([signature, answerKey(reference)]);
        expect(calls.timingSafeEqual.length).toBe(before);
      }
      figures['malformed signatures'] = { requests: malformed.length, comparisons: 0 };
    });

    it('within the key-rotation grace period a wrong signature is compared against both keys, each 20 + 20 bytes', async () => {
      const openid = `oRotated${adapter}0000000000000001`;
      const oldKey = seededSessionKey(`rotation-old:${adapter}`);
      const newKey = seededSessionKey(`rotation-new:${adapter}`);
      ledger.addSessionKey(oldKey, `${adapter} rotated-out key`);
      ledger.addSessionKey(newKey, `${adapter} rotated-in key`);
      await h.sessions.create({ openid, sessionKey: oldKey });
      const bearer = await h.sessions.create({ openid, sessionKey: newKey });
      const rawData = JSON.stringify(PROFILE);
      const cases: Array<[string, string, number, number]> = [
        ['signed with the new key', signRawData(rawData, newKey), 1, 200],
        ['signed with the previous key', signRawData(rawData, oldKey), 2, 200],
        ['wrong', '0'.repeat(40), 2, 401],
      ];
      for (const [name, signature, comparisons, status] of cases) {
        const before = calls.timingSafeEqual.length;
        const res = keep(await post('/plain', { rawData, signature }, bearer));
        const made = calls.timingSafeEqual.slice(before);
        expect([name, res.status, made.length]).toEqual([name, status, comparisons]);
        expect(made.every((c) => c.aBytes === 20 && c.bBytes === 20 && c.bothBuffers)).toBe(true);
      }
      figures['rotation grace'] = {
        cases: cases.length,
        comparisons: '1 for the current key, 2 with the previous one',
      };
    });
  });
});

it('no unhandled rejection or uncaught exception fired during the suite', () => {
  expect(events.unhandledRejections).toEqual([]);
  expect(events.uncaughtExceptions).toEqual([]);
});

it('no session key (base64 or hex), app secret or other secret appears in any log line or response', () => {
  const { responses, logLines } = ledger.recorded;
  expect(responses).toBeGreaterThan(10_000);
  expect(logLines).toBeGreaterThan(5_000);
  // The 48 invalid vectors share 6 keys; each key is searched for in 4 spellings.
  expect(ledger.secretCount).toBeGreaterThanOrEqual(6 * 4 + 4);
  expect(ledger.leaks()).toEqual([]);
});

/** Why what a handler saw is more than the DTO and the session, or `undefined`. */
function checkHandlerView(view: ObjectView): string | undefined {
  const info = view.children['info'];
  const session = view.children['session'];
  if (info === undefined || session === undefined) return 'the handler did not see both info and session';
  if (info.proto !== 'WxUserInfo') return `info has prototype ${info.proto}`;
  const extraInfo = info.keys.filter((key) => !USER_INFO_KEYS.includes(key));
  if (extraInfo.length > 0) return `info has extra keys ${extraInfo.join(',')}`;
  const watermark = info.children['watermark'];
  if (watermark?.proto !== 'WxWatermark' || [...watermark.keys].sort().join() !== 'appid,timestamp') {
    return `watermark is ${JSON.stringify(watermark)}`;
  }
  if (session.proto !== 'Object') return `session has prototype ${session.proto}`;
  const extraSession = session.keys.filter((key) => !SESSION_KEYS.includes(key));
  if (extraSession.length > 0) return `session has extra keys ${extraSession.join(',')}`;
  if (Object.keys(info.children).some((key) => key !== 'watermark')) return 'info has nested objects';
  return undefined;
}
