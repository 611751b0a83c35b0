import 'reflect-metadata';
import { cryptoCases, userInfoFixture } from '/work/wt/crypto/bench/crypto.bench.mjs';
import { peerCases } from '/work/wt/crypto/bench/peers.mjs';
import { decryptOpenData, verifySignature, checkOpenDataIdentity } from 'nestjs-wx-open-data';
const f = userInfoFixture();
const c = { ...cryptoCases(f), ...peerCases(f) };
const input = { encryptedData: f.encryptedData, iv: f.iv, sessionKey: f.session.sessionKey };
const opts = { appId: f.appId };
const parts = {
  sig: () => verifySignature(f.rawData, f.signature, f.session.sessionKey),
  dec: () => decryptOpenData(input, opts),
};
const cases = { raw: c.raw, crypto: c.crypto, easy: c.node_easywechat, wxbiz: c.wxbizdatacrypt, ...parts };
const timers = Object.fromEntries(Object.entries(cases).map(([n, fn]) => [n, new Function('fn', `return function t(){ const s=process.hrtime.bigint(); for(let i=0;i<200;i++) fn(); return Number(process.hrtime.bigint()-s)/200; } // ${n}`)(fn)]));
for (let i = 0; i < 300; i++) for (const t of Object.values(timers)) t();
const mins = Object.fromEntries(Object.keys(timers).map(n => [n, Infinity]));
const all = Object.fromEntries(Object.keys(timers).map(n => [n, []]));
for (let r = 0; r < 400; r++) for (const [n, t] of Object.entries(timers)) { const v = t(); all[n].push(v); if (v < mins[n]) mins[n] = v; }
const p = (a, q) => { const s = [...a].sort((x,y)=>x-y); return s[Math.floor(q*(s.length-1))]; };
for (const n of Object.keys(timers)) console.log(n.padEnd(8), 'min', mins[n].toFixed(0), 'p10', p(all[n], .1).toFixed(0), 'p50', p(all[n], .5).toFixed(0));
