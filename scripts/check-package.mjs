// Checks the built package the way users get it (run after `npm run build`):
// 1. the file list `npm pack` would publish: LICENSE, README, CHANGELOG, the ESM and CommonJS
//    builds and types of every entry point in `exports`, no test files, every source map and every
//    `sourceMappingURL` resolving to a packed file, every relative README link to a packed file;
// 2. the type declarations of the entry points that must not need an optional peer (the root,
//    /core), and every declaration file they import, transitively: none imports an optional peer
//    (package.json `peerDependenciesMeta`), so an app without keyv, GraphQL, OpenTelemetry…
//    type-checks against them;
// 3. `import` (ESM) and `require` (CommonJS) of every entry point;
// 4. in both builds, a payload becomes a `WxUserInfo` through the compiled transform and validation
//    plans: neither says it had to fall back (it could not read class-transformer's or
//    class-validator's metadata, as a second copy of either would cause).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { posix } from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

/** The paths `npm pack` would put in the tarball, relative to the package root. */
function packedFiles() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [report] = JSON.parse(out);
  return {
    files: new Set(report.files.map((file) => file.path)),
    size: report.size,
    unpacked: report.unpackedSize,
  };
}

const problems = [];
const { files, size, unpacked } = packedFiles();
const need = (path, why) => files.has(path) || problems.push(`${path} is not packed (${why})`);

for (const path of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) need(path, 'always shipped');
need(pkg.main.replace(/^\.\//, ''), 'package.json main');
need(pkg.types.replace(/^\.\//, ''), 'package.json types');

const entryPoints = Object.keys(pkg.exports).filter((entry) => entry !== './package.json');
for (const entry of entryPoints) {
  for (const [condition, target] of Object.entries(pkg.exports[entry])) {
    for (const [kind, path] of Object.entries(target))
      need(path.replace(/^\.\//, ''), `exports["${entry}"].${condition}.${kind}`);
  }
}

for (const path of files) {
  if (/(^|\/)(test|__tests__)\/|\.(e2e-)?spec\.|\.test\./.test(path))
    problems.push(`${path}: a test file is packed`);
  const dir = posix.dirname(path);
  if (path.endsWith('.map')) {
    const map = JSON.parse(readFileSync(path, 'utf8'));
    for (const source of map.sources) {
      const resolved = posix.normalize(posix.join(dir, map.sourceRoot ?? '', source));
      if (!files.has(resolved)) problems.push(`${path}: source ${source} (${resolved}) is not packed`);
    }
  } else if (/\.(c|m)?js$|\.d\.ts$/.test(path)) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(path, 'utf8'))?.[1];
    if (url !== undefined && !url.startsWith('data:') && !files.has(posix.normalize(posix.join(dir, url)))) {
      problems.push(`${path}: sourceMappingURL ${url} is not packed`);
    }
  }
}

// A relative link in the README works on GitHub but not on npm unless the file is packed.
for (const [, target] of readFileSync('README.md', 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
  if (/^(https?:|mailto:|#)/.test(target)) continue;
  const path = posix.normalize(target.split('#')[0]).replace(/\/$/, '');
  if (!files.has(path))
    problems.push(`README links ${target}, which is not in the package: make the link absolute`);
}

if (problems.length > 0) {
  console.error(
    `package check: ${problems.length} problem(s) in the packed file list:\n- ${problems.join('\n- ')}`,
  );
  process.exit(1);
}
console.log(
  `package check: ${files.size} files packed, ${size} bytes packed, ${unpacked} unpacked; maps resolve`,
);

/** Entry points whose types never need an optional peer: the peers' own entries (/redis…) may. */
const PEER_FREE_ENTRIES = ['.', './core'];
const optionalPeers = Object.entries(pkg.peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta.optional === true)
  .map(([name]) => name);
assert.ok(optionalPeers.length > 0, 'package.json lists optional peers');

/** The module specifiers a declaration file imports: import/export … from, import(), reference types. */
function declarationImports(text) {
  const specifiers = [];
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\/\/\/\s*<reference\s+types\s*=\s*['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns)
    for (const [, specifier] of text.matchAll(pattern)) specifiers.push(specifier);
  return specifiers;
}

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const peerImports = new Set();
for (const entry of PEER_FREE_ENTRIES) {
  for (const condition of ['import', 'require']) {
    const start = posix.normalize(pkg.exports[entry][condition].types);
    const seen = new Set([start]);
    /** Who imported each file first, to name the chain from the entry point. */
    const importer = new Map();
    const chain = (file) => (importer.has(file) ? `${chain(importer.get(file))} -> ${file}` : file);
    for (const file of seen) {
      for (const specifier of declarationImports(readFileSync(file, 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = posix.join(posix.dirname(file), specifier).replace(/\.(c|m)?js$/, '');
          const declaration = [`${target}.d.ts`, `${target}/index.d.ts`].find((path) => existsSync(path));
          if (declaration === undefined)
            peerImports.add(`${chain(file)} imports ${specifier}, which has no .d.ts`);
          else if (!seen.has(declaration)) {
            importer.set(declaration, file);
            seen.add(declaration);
          }
        } else if (optionalPeers.includes(packageOf(specifier))) {
          peerImports.add(`${chain(file)} imports the optional peer ${packageOf(specifier)}`);
        }
      }
    }
  }
}
if (peerImports.size > 0) {
  console.error(
    `package check: the types of ${PEER_FREE_ENTRIES.join(', ')} must not need an optional peer:\n- ${[...peerImports].join('\n- ')}`,
  );
  process.exit(1);
}
console.log(`package check: the types of ${PEER_FREE_ENTRIES.join(', ')} import no optional peer`);

const expected = {
  '.': ['WxOpenDataModule', 'WxSessionStore'],
  './core': ['decryptOpenData', 'verifySignature', 'WxApiClient'],
  './redis': ['RedisWxSessionStore'],
  './testing': ['encryptOpenData', 'FakeWeChatServer', 'MiniProgramClient'],
  './swagger': ['ApiWxOpenData'],
  './terminus': ['WxOpenDataHealthIndicator'],
};
assert.deepEqual(Object.keys(expected).sort(), [...entryPoints].sort(), 'every entry point is loaded below');

for (const [entry, names] of Object.entries(expected)) {
  const specifier = entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
  const esm = await import(specifier);
  const cjs = require(specifier);
  for (const name of names) {
    assert.equal(typeof esm[name], 'function', `ESM ${specifier} exports ${name}`);
    assert.equal(typeof cjs[name], 'function', `CommonJS ${specifier} exports ${name}`);
  }
  assert.notEqual(esm.default, cjs, `${specifier}: import and require resolve to different builds`);
}
console.log('package check: ESM and CommonJS entry points load');

const warnings = [];
process.on('warning', (warning) => warnings.push(warning.code ?? warning.name));
const payload = {
  nickName: 'Band',
  gender: 1,
  avatarUrl: 'https://thirdwx.qlogo.cn/132',
  undeclared: 'stripped',
  watermark: { appid: 'wx0123456789abcdef', timestamp: 1_700_000_000 },
};
for (const [build, root, core] of [
  ['ESM', await import(pkg.name), await import(`${pkg.name}/core`)],
  ['CommonJS', require(pkg.name), require(`${pkg.name}/core`)],
]) {
  const info = core.toOpenDataPayload(root.WxUserInfo, structuredClone(payload));
  assert.ok(info instanceof root.WxUserInfo, `${build}: a WxUserInfo`);
  assert.ok(info.watermark instanceof root.WxWatermark, `${build}: its watermark a WxWatermark`);
  assert.equal(Object.hasOwn(info, 'undeclared'), false, `${build}: undeclared fields stripped`);
}
// Process warnings are emitted on a later tick.
await new Promise((resolve) => setImmediate(resolve));
const fallbacks = warnings.filter((code) => String(code).startsWith('WX_OPEN_DATA_'));
assert.deepEqual(fallbacks, [], 'the compiled DTO plans engage in both builds');
console.log('package check: DTOs are built by the compiled plans in both builds (no fallback warning)');
