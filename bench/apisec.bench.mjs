// Issue 13's figure: what WeChat's API security mode costs per protected call. The same
// getPhoneNumber call against the fake WeChat on loopback, by two clients of two apps, one
// plain and one in the mode (sign + encrypt the request, verify + decrypt the answer; the fake
// does the mirror work), timed in interleaved rounds. Also the client's own share, in process.
import { performance } from 'node:perf_hooks';
import { WxApiClient } from 'nestjs-wx-open-data';
import { createApiSecurityTestKeys, FakeWeChatServer } from 'nestjs-wx-open-data/testing';
import { resolveWxApiSecurity } from '../dist/esm/api/security/api-security-options.js';
import { openApiAnswer, sealApiRequest } from '../dist/esm/api/security/api-security.js';

const PLAIN = { appId: 'wx0123456789abcdef', appSecret: 'bench-secret-plain' };
const SECURE = { appId: 'wxfedcba9876543210', appSecret: 'bench-secret-secure' };

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function timeCalls(wechat, client, appId, calls) {
  const started = performance.now();
  for (let i = 0; i < calls; i++) await client.getPhoneNumber(wechat.issuePhoneCode({}, appId));
  return (performance.now() - started) / calls;
}

/** Client-side work only: seal a request and open a sealed answer, µs per call. */
function clientCryptoMicros(keys, iterations) {
  const { security } = resolveWxApiSecurity(keys.client, 'apiSecurity', Date.now());
  const urlPath = 'http://127.0.0.1:1/wxa/business/getuserphonenumber';
  // An answer as WeChat sends it: the two directions have the same format, so sealing with the
  // platform key makes one (the client's own seal, signed by the platform's key).
  const platformSide = { ...security, privateKey: keys.platform.privateKey };
  const timestamp = Math.floor(Date.now() / 1000);
  const answer = sealApiRequest({
    security: platformSide,
    appId: SECURE.appId,
    urlPath,
    timestamp,
    nonce: 'bench-nonce-0123456789',
    iv: Buffer.alloc(12, 1),
    params: {
      errcode: 0,
      errmsg: 'ok',
      phone_info: { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86' },
    },
  });
  const headers = {
    'wechatmp-appid': SECURE.appId,
    'wechatmp-timestamp': String(timestamp),
    'wechatmp-serial': keys.platform.sn,
    'wechatmp-signature': answer.headers['Wechatmp-Signature'],
  };
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    sealApiRequest({
      security,
      appId: SECURE.appId,
      urlPath,
      timestamp,
      nonce: 'bench-nonce-0123456789',
      iv: Buffer.alloc(12, i & 0xff),
      params: { code: 'a'.repeat(64) },
    });
    openApiAnswer({
      security,
      operation: 'getPhoneNumber',
      appId: SECURE.appId,
      urlPath,
      header: (name) => headers[name],
      body: answer.body,
      nowSeconds: timestamp,
      onDeprecatedSerial: () => undefined,
    });
  }
  return ((performance.now() - started) * 1000) / iterations;
}

export async function runApiSecurityBench({ rounds = 7, callsPerRound = 60, cryptoIterations = 200 } = {}) {
  const keys = createApiSecurityTestKeys();
  const wechat = new FakeWeChatServer({ apps: [PLAIN, { ...SECURE, apiSecurity: keys.fake }] });
  const apiBaseUrl = await wechat.start();
  try {
    const plain = new WxApiClient({ ...PLAIN, apiBaseUrl });
    const secure = new WxApiClient({ ...SECURE, apiBaseUrl, apiSecurity: keys.client });
    // Warm-up: access tokens fetched, connections and JIT warm.
    await timeCalls(wechat, plain, PLAIN.appId, 20);
    await timeCalls(wechat, secure, SECURE.appId, 20);
    const ratios = [];
    const plainMs = [];
    const secureMs = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so drift in the machine's load falls on both alike.
      const first = round % 2 === 0;
      const a = first ? await timeCalls(wechat, plain, PLAIN.appId, callsPerRound) : undefined;
      const b = await timeCalls(wechat, secure, SECURE.appId, callsPerRound);
      const c = first ? a : await timeCalls(wechat, plain, PLAIN.appId, callsPerRound);
      plainMs.push(c);
      secureMs.push(b);
      ratios.push(b / c);
    }
    const clientMicros = clientCryptoMicros(keys, cryptoIterations);
    return {
      api_security_cost_ratio: median(ratios),
      plain_call_ms: median(plainMs),
      protected_call_ms: median(secureMs),
      client_crypto_us_per_call: clientMicros,
      rounds,
      calls_per_round: callsPerRound,
      spread: { min: Math.min(...ratios), max: Math.max(...ratios) },
    };
  } finally {
    await wechat.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runApiSecurityBench({ rounds: 5, callsPerRound: 40 }));
}
