/**
 * Issue 11 §2, §3 and §6 (rawData): what a client can make of its own genuine payloads without
 * the key, over real HTTP on both adapters.
 *
 * AES-CBC has no MAC. Whoever knows a payload's plaintext (its own user does) can flip iv bits,
 * which rewrites the first plaintext block at will, or drop the first k ciphertext blocks and send
 * the iv `C[k-1] ⊕ P[k] ⊕ chosen`, which makes block k decrypt to 16 chosen bytes. The tests build
 * every such variant of an accepted payload and require:
 * - §2: after the genuine payload was accepted, no variant is (the replay cache must not be
 *   dodged by a ciphertext that changed);
 * - §3: no variant that repeats a key (a renamed `openId`) and none that renames `openId` to
 *   `unionId` is accepted, with or without a DTO;
 * - §6: a `rawData` with a lone surrogate is refused before its signature is checked (it verified
 *   against the signature of U+FFFD).
 */
import { openDataFingerprint } from '../../lib/index.js';
import { signRawData } from '../../lib/testing/index.js';
import { ADAPTERS } from '../support/nest-app.js';
import { APP_SECRET, OTHER_APP_SECRET, startAdversarialApp, type AdversarialApp } from './support/app.js';
import {
  PROFILE,
  encryptText,
  nowSeconds,
  payloadText,
  seededBytes,
  seededSessionKey,
  type BodyOwner,
  type OpenDataBody,
} from './support/bodies.js';
import type { RawResponse } from './support/http.js';
import { RunSummary } from './support/results.js';
import { SecretLedger } from './support/secrets.js';

const summary = new RunSummary('malleability');
const ledger = new SecretLedger();
ledger.addSecret('app secret', APP_SECRET);
ledger.addSecret('other app secret', OTHER_APP_SECRET);
afterAll(() => {
  summary.write();
});

const BLOCK = 16;

const xor = (...blocks: Buffer[]): Buffer => {
  const out = Buffer.alloc(BLOCK);
  for (const block of blocks)
    for (let i = 0; i < BLOCK; i++) out[i] = (out[i] as number) ^ (block[i] as number);
  return out;
};

/** PKCS#7-padded UTF-8 of `text`: the plaintext blocks the ciphertext holds. */
function paddedBlocks(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const pad = BLOCK - (bytes.length % BLOCK);
  return Buffer.concat([bytes, Buffer.alloc(pad, pad)]);
}

/**
 * The keyless variant of `body` whose first k ciphertext blocks are dropped and whose first
 * plaintext block reads `chosen` (k = 0: an iv flip).
 */
function variant(body: OpenDataBody, plaintext: Buffer, k: number, chosen: Buffer): OpenDataBody {
  const ct = Buffer.from(body.encryptedData, 'base64');
  const previous = k === 0 ? Buffer.from(body.iv, 'base64') : ct.subarray(BLOCK * (k - 1), BLOCK * k);
  const iv = xor(previous, plaintext.subarray(BLOCK * k, BLOCK * (k + 1)), chosen);
  return { encryptedData: ct.subarray(BLOCK * k).toString('base64'), iv: iv.toString('base64') };
}

/** The plaintext a variant decrypts to (padding removed), as text. */
function variantText(plaintext: Buffer, k: number, chosen: Buffer): string {
  const rest = plaintext.subarray(BLOCK * (k + 1));
  const whole = Buffer.concat([chosen, rest]);
  return whole.subarray(0, whole.length - (whole[whole.length - 1] as number)).toString('utf8');
}

const block = (text: string): Buffer => {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length !== BLOCK) throw new Error(`a chosen block is 16 bytes: ${JSON.stringify(text)}`);
  return bytes;
};

/** Whether old code would have taken `text` as share info: JSON with a string openGId and a watermark. */
function passesAsShareInfo(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return typeof parsed.openGId === 'string' && typeof parsed.watermark === 'object';
  } catch {
    return false;
  }
}

describe.each(ADAPTERS)('keyless variants of genuine payloads (%s)', (adapter) => {
  let h: AdversarialApp;
  const owner: BodyOwner = {
    openid: 'oMalleableUser00000000000001',
    sessionKey: seededSessionKey(`malleable:${adapter}`),
  };
  const withUnion: BodyOwner = { ...owner, unionid: 'uMalleableUnion000000000001' };
  const json = { 'content-type': 'application/json' };
  const post = async (path: string, body: unknown, session: BodyOwner = owner): Promise<RawResponse> => {
    const token = await h.sessions.create(session);
    const res = await h.client.send({
      path,
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    ledger.recordResponse(`${adapter} malleability`, res);
    return res;
  };
  let counter = 0;
  const genuine = (kind: 'share' | 'userInfo', who: BodyOwner): { body: OpenDataBody; plaintext: Buffer } => {
    const text = payloadText(kind, who, nowSeconds());
    const iv = seededBytes(`malleable:${adapter}:${kind}:${(counter += 1)}`);
    return { body: encryptText(text, who.sessionKey, iv), plaintext: paddedBlocks(text) };
  };

  beforeAll(async () => {
    // Every variant is refused under one key, so a per-key budget would mask each variant's own
    // verdict: the budget has its suite of its own (key-budget.e2e-spec.ts).
    h = await startAdversarialApp(adapter, { module: { maxKeyFailures: false } });
    ledger.watchLogger(adapter, h.logger);
    ledger.addSessionKey(owner.sessionKey, `${adapter} malleable user key`);
  });
  afterAll(async () => {
    await h.close();
  });

  it('§2: once a share payload is accepted, no truncation or iv flip of it is (every k, chosen first blocks)', async () => {
    const { body, plaintext } = genuine('share', owner);
    expect((await post('/share', body)).status).toBe(200);
    const blocks = plaintext.length / BLOCK;
    const chosenBlocks = [block('{"openGId":"EVIL'), block('{"openGId":"G000'), block('{"openGId":"x","')];
    const variants: Array<{ k: number; chosen: string; body: OpenDataBody; valid: boolean }> = [];
    for (let k = 0; k < blocks; k++) {
      // The block itself unchanged (pure truncation), and chosen ones.
      for (const chosen of [plaintext.subarray(BLOCK * k, BLOCK * (k + 1)), ...chosenBlocks]) {
        const text = variantText(plaintext, k, chosen);
        variants.push({
          k,
          chosen: chosen.toString('latin1'),
          body: variant(body, plaintext, k, chosen),
          valid: passesAsShareInfo(text),
        });
      }
    }
    // The attack is real: some variants decrypt to share info with another group id (old code
    // accepted them, their fingerprints being new).
    const valid = variants.filter((v) => v.valid && v.k > 0);
    expect(valid.length).toBeGreaterThan(0);
    const accepted: string[] = [];
    for (const v of variants) {
      // Every keyless variant keeps the last ciphertext block: the same fingerprint as the genuine one.
      expect([v.k, v.chosen, openDataFingerprint(v.body)]).toEqual([
        v.k,
        v.chosen,
        openDataFingerprint(body),
      ]);
      for (const path of ['/share', '/plain']) {
        const res = await post(path, v.body);
        if (res.status === 200)
          accepted.push(`${path} k=${v.k} first block ${JSON.stringify(v.chosen)}: ${res.text}`);
        else expect(res.status).toBe(401);
      }
    }
    summary.record('truncation', adapter, {
      variants: variants.length,
      decryptingToShareInfo: valid.length,
      accepted: accepted.length,
    });
    expect(accepted).toEqual([]);
  }, 60_000);

  it('§3: an iv flip that renames openId to a later key (a repeated key) is refused, with and without a DTO', async () => {
    for (const path of ['/profile', '/plain']) {
      const { body, plaintext } = genuine('userInfo', owner);
      // `{"openId":"oMall` → `{"city":"oMallXX`: the payload then holds "city" twice.
      const forged = variant(body, plaintext, 0, block('{"city":"oMallXX'));
      expect(JSON.parse(variantText(plaintext, 0, block('{"city":"oMallXX'))).openId).toBeUndefined();
      const res = await post(path, forged);
      expect([path, res.status]).toEqual([path, 401]);
    }
  });

  it('§3: renaming openId to unionId is refused whether or not the session has a unionid', async () => {
    for (const session of [owner, withUnion]) {
      for (const path of ['/profile', '/plain']) {
        const { body, plaintext } = genuine('userInfo', session);
        const chosen = block('{"unionId":"EVIL');
        // Without a unionid in the session, the forged one is the only one in the payload.
        if (session.unionid === undefined) {
          expect(JSON.parse(variantText(plaintext, 0, chosen)).unionId).toMatch(/^EVIL/);
        }
        const res = await post(path, variant(body, plaintext, 0, chosen), session);
        expect([path, session.unionid ?? 'no unionid', res.status]).toEqual([
          path,
          session.unionid ?? 'no unionid',
          401,
        ]);
      }
    }
  });

  it('§3: a genuine payload still passes: openId and unionId equal to the session’s', async () => {
    const { body } = genuine('userInfo', withUnion);
    expect((await post('/profile', body, withUnion)).status).toBe(200);
  });

  it('§6: a rawData with a lone surrogate is refused with a 400 before its signature is checked', async () => {
    const { body } = genuine('userInfo', owner);
    // Built as text: JSON.stringify would escape the lone surrogate into six ASCII characters.
    const rawData = JSON.stringify(PROFILE).replace('Adversary', 'Ad\uD800versary');
    expect(rawData).toContain('\uD800');
    // Node hashes a lone surrogate as U+FFFD: the signature of the replaced text matches.
    const signature = signRawData(rawData.replace('\uD800', '\uFFFD'), owner.sessionKey);
    expect(signature).toBe(signRawData(rawData, owner.sessionKey));
    const res = await post('/profile', { ...body, rawData, signature });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'WX_MALFORMED_PAYLOAD', field: 'rawData' });
    // The well-formed text with its own signature is accepted.
    const fine = rawData.replace('\uD800', '\uFFFD');
    const ok = await post('/profile', {
      ...genuine('userInfo', owner).body,
      rawData: fine,
      signature: signRawData(fine, owner.sessionKey),
    });
    expect(ok.status).toBe(200);
  });

  it('records no secret in any answer or log line', () => {
    expect(ledger.leaks()).toEqual([]);
  });
});
