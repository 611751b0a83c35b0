// Issue #2's figures (the raw decipher limit, the crypto path, the crypto path plus DTO validation)
// and issue #7's: the same crypto path done by the peers, all timed in the same interleaved rounds.
import 'reflect-metadata';
import { createDecipheriv } from 'node:crypto';
import { WxUserInfo } from 'nestjs-wx-open-data';
import {
  checkOpenDataIdentity,
  decryptOpenData,
  toOpenDataPayload,
  verifySignature,
} from 'nestjs-wx-open-data/core';
import { createSessionKey, encryptOpenData, signRawData } from 'nestjs-wx-open-data/testing';
import { BENCH_APP_ID, BENCH_OPENID, BENCH_PROFILE, BENCH_UNIONID } from './fixtures.mjs';
import { measureRounds, pairedRatio, roundRatios, spread } from './measure.mjs';
import { peerCases, peerVersions } from './peers.mjs';

const APP_ID = BENCH_APP_ID;

/** A user-info payload of about 420 bytes, as `wx.getUserInfo` decrypts. */
export function userInfoFixture() {
  const sessionKey = createSessionKey();
  const payload = {
    openId: BENCH_OPENID,
    ...BENCH_PROFILE,
    unionId: BENCH_UNIONID,
    watermark: { appid: APP_ID, timestamp: Math.floor(Date.now() / 1000) },
  };
  const { openId, unionId, watermark, ...visible } = payload;
  const rawData = JSON.stringify(visible);
  return {
    appId: APP_ID,
    session: { openid: openId, unionid: unionId, appId: APP_ID, sessionKey },
    plaintextBytes: Buffer.byteLength(JSON.stringify(payload)),
    rawData,
    signature: signRawData(rawData, sessionKey),
    ...encryptOpenData(payload, sessionKey),
    watermark,
  };
}

export function cryptoCases(f = userInfoFixture()) {
  const key = Buffer.from(f.session.sessionKey, 'base64');
  const iv = Buffer.from(f.iv, 'base64');
  const ciphertext = Buffer.from(f.encryptedData, 'base64');
  const input = { encryptedData: f.encryptedData, iv: f.iv, sessionKey: f.session.sessionKey };
  const options = { appId: f.appId };
  const cryptoPath = () => {
    if (!verifySignature(f.rawData, f.signature, f.session.sessionKey)) throw new Error('bad signature');
    const plain = decryptOpenData(input, options);
    checkOpenDataIdentity(plain, f.session);
    return plain;
  };
  return {
    raw: () => {
      const decipher = createDecipheriv('aes-128-cbc', key, iv);
      decipher.update(ciphertext);
      decipher.final();
    },
    crypto: cryptoPath,
    full: () => toOpenDataPayload(WxUserInfo, cryptoPath()),
  };
}

/** Names of the peer cases, in the order they are reported. */
export const PEERS = ['wxbizdatacrypt', 'node_easywechat', 'wechat_jssdk'];

/** Runs each case once and checks it decrypted the fixture, so no case is timed failing fast. */
async function checkCases(cases, fixture) {
  for (const [name, c] of Object.entries(cases)) {
    if (name === 'raw') continue;
    const out = await (typeof c === 'function' ? c() : c.fn());
    if (out?.nickName !== 'Band' || out?.watermark?.appid !== fixture.appId) {
      throw new Error(`bench case ${name} did not decrypt the fixture`);
    }
  }
}

/**
 * Ratios are medians of per-round ratios (see `pairedRatio`); the best peer is the one with the
 * lowest median ns/op.
 */
export async function runCryptoBench(options) {
  const fixture = userInfoFixture();
  const cases = { ...cryptoCases(fixture), ...peerCases(fixture) };
  await checkCases(cases, fixture);
  const { ns, samples, spreads } = await measureRounds(cases, options);
  const best = PEERS.reduce((a, b) => (ns[b] < ns[a] ? b : a));
  const ratioSpread = (a, b) => spread(roundRatios(samples[a], samples[b]));
  return {
    plaintextBytes: fixture.plaintextBytes,
    ns_per_op: ns,
    peer_versions: peerVersions(),
    best_peer: best,
    crypto_vs_raw: pairedRatio(samples.crypto, samples.raw),
    full_vs_crypto: pairedRatio(samples.full, samples.crypto),
    crypto_vs_best_peer: pairedRatio(samples.crypto, samples[best]),
    crypto_vs_peer: Object.fromEntries(PEERS.map((p) => [p, pairedRatio(samples.crypto, samples[p])])),
    spread: {
      ns_per_op: spreads,
      crypto_vs_raw: ratioSpread('crypto', 'raw'),
      full_vs_crypto: ratioSpread('full', 'crypto'),
      crypto_vs_best_peer: ratioSpread('crypto', best),
    },
  };
}

/**
 * The spread of each case and ratio over the rounds, as a Markdown table: a figure whose min and
 * max lie far apart was not stable in this run, whatever its median says.
 */
export function formatCryptoSpread(result) {
  const n = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
  const rows = [
    ...Object.entries(result.spread.ns_per_op).map(([name, s]) => [`${name} ns/op`, s]),
    ...['crypto_vs_raw', 'full_vs_crypto', 'crypto_vs_best_peer'].map((name) => [name, result.spread[name]]),
  ];
  return [
    '| over the rounds | min | median | max | max ÷ min |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      ([name, s]) =>
        `| ${name} | ${n(s.min)} | ${n(s.median)} | ${n(s.max)} | ${(s.max / s.min).toFixed(2)} |`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadavg } = await import('node:os');
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const loadBefore = load();
  const result = await runCryptoBench();
  console.log(result);
  console.log(formatCryptoSpread(result));
  console.log(`load average before: ${loadBefore}; after: ${load()}`);
  process.exit(0);
}
