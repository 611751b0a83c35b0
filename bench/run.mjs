// `npm run bench`: measures, prints a table and writes bench/results/latest.json.
// `--smoke` runs a few short rounds only, so CI proves the benchmark still runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { runCryptoBench } from './crypto.bench.mjs';
import { machine } from './measure.mjs';

const smoke = process.argv.includes('--smoke');
const timing = smoke ? { rounds: 2, batchMs: 10, warmupMs: 20 } : { rounds: 21, batchMs: 80, warmupMs: 500 };

const targets = {
  crypto_vs_raw: {
    max: 2.8,
    what: 'signature + decrypt + parse + watermark vs one createDecipheriv+update+final',
  },
  full_vs_crypto: { max: 2.5, what: 'crypto path + WxUserInfo DTO transform and validation vs crypto path' },
};

const crypto = runCryptoBench(timing);
const results = {
  when: new Date().toISOString(),
  smoke,
  machine: await machine(),
  crypto_ns_per_op: crypto.ns_per_op,
  plaintext_bytes: crypto.plaintextBytes,
  crypto_vs_raw: crypto.crypto_vs_raw,
  full_vs_crypto: crypto.full_vs_crypto,
  targets,
};

const fmt = (n) => n.toFixed(n < 10 ? 2 : 0);
console.log(
  `\nmachine: ${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}`,
);
console.log(`user-info payload: ${crypto.plaintextBytes} bytes of plaintext\n`);
console.log('| case | ns/op |');
console.log('| --- | ---: |');
console.log(`| (1) raw limit: createDecipheriv + update + final | ${fmt(crypto.ns_per_op.raw)} |`);
console.log(
  `| (2) verifySignature + decryptOpenData (watermark, identity) | ${fmt(crypto.ns_per_op.crypto)} |`,
);
console.log(`| (3) (2) + WxUserInfo transform + validate | ${fmt(crypto.ns_per_op.full)} |`);
console.log('\n| ratio | measured | target | met |');
console.log('| --- | ---: | ---: | :---: |');
for (const [name, target] of Object.entries(targets)) {
  const value = results[name];
  console.log(`| ${name} | ${value.toFixed(2)} | ≤ ${target.max} | ${value <= target.max ? 'yes' : 'no'} |`);
}

if (!smoke) {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('\nwritten: bench/results/latest.json');
}
