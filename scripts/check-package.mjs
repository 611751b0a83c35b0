// Loads the built package the way users do: `import` (ESM) and `require` (CommonJS), both entry points.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const expected = {
  '.': ['WxOpenDataModule', 'decryptOpenData', 'verifySignature', 'WxSessionStore'],
  './testing': ['encryptOpenData', 'FakeWeChatServer', 'MiniProgramClient'],
  './swagger': ['ApiWxOpenData'],
  './terminus': ['WxOpenDataHealthIndicator'],
};

for (const [entry, names] of Object.entries(expected)) {
  const specifier = entry === '.' ? 'nestjs-wx-open-data' : `nestjs-wx-open-data/${entry.slice(2)}`;
  const esm = await import(specifier);
  const cjs = require(specifier);
  for (const name of names) {
    assert.equal(typeof esm[name], 'function', `ESM ${specifier} exports ${name}`);
    assert.equal(typeof cjs[name], 'function', `CommonJS ${specifier} exports ${name}`);
  }
  assert.notEqual(esm.default, cjs, `${specifier}: import and require resolve to different builds`);
}
console.log('package check: ESM and CommonJS entry points load');
