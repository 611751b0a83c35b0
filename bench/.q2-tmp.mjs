import { userInfoFixture } from './crypto.bench.mjs';
import { isAscii, isUtf8 } from 'node:buffer';
import { decodeBase64Field } from '../dist/esm/core/base64.js';
import { sessionKeyDecipher } from '../dist/esm/core/key-cache.js';
import { decryptCbcBlocks, pkcs7PaddingLength } from '../dist/esm/core/aes.js';
import { scanJsonObject, countParsedKeys } from '../dist/esm/core/json.js';
import { checkWatermark } from '../dist/esm/core/watermark.js';
const f = userInfoFixture();
const ct = Buffer.from(f.encryptedData, 'base64'); const iv = Buffer.from(f.iv, 'base64');
const ecb = sessionKeyDecipher(f.session.sessionKey);
const padded = decryptCbcBlocks(ecb, iv, ct);
const text = padded.subarray(0, padded.length - pkcs7PaddingLength(padded));
const str = text.toString('latin1');
const parsed = JSON.parse(str);
let sink;
const cases = {
  b64ct: () => { sink = decodeBase64Field('encryptedData', f.encryptedData); },
  b64iv: () => { sink = decodeBase64Field('iv', f.iv, 16); },
  keyc: () => { sink = sessionKeyDecipher(f.session.sessionKey); },
  ecbupd: () => { sink = ecb.decipher.update(ct); },
  cbc: () => { sink = decryptCbcBlocks(ecb, iv, ct); },
  pad: () => { sink = pkcs7PaddingLength(padded); },
  utf8: () => { sink = isUtf8(text) && isAscii(text); },
  str: () => { sink = text.toString('latin1'); },
  scan: () => { sink = scanJsonObject(str); },
  parse: () => { sink = JSON.parse(str); },
  count: () => { sink = countParsedKeys(parsed); },
  wm: () => { sink = checkWatermark(parsed.watermark, { appId: f.appId }); },
};
const timers = Object.fromEntries(Object.entries(cases).map(([n, fn]) => [n, new Function('fn', `return function t(){ const s=process.hrtime.bigint(); for(let i=0;i<200;i++) fn(); return Number(process.hrtime.bigint()-s)/200; } // ${n}`)(fn)]));
for (let i = 0; i < 300; i++) for (const t of Object.values(timers)) t();
const mins = Object.fromEntries(Object.keys(timers).map(n => [n, Infinity]));
for (let r = 0; r < 300; r++) for (const [n, t] of Object.entries(timers)) { const v = t(); if (v < mins[n]) mins[n] = v; }
for (const n of Object.keys(timers)) console.log(n.padEnd(8), 'min', mins[n].toFixed(0));
console.log(padded.byteOffset, ct.byteOffset, iv.byteOffset, padded.buffer.byteLength);
