// Runs the consumer apps of test/consumers/ against the packed tarball (run after `npm run build`):
// packs the package once, copies each app to a temporary folder outside the repository (so nothing
// resolves from the repository's node_modules), adds the README's named files (`src/*.ts`,
// `test/app.e2e-spec.ts`) the app does not have itself, installs the tarball with
// `npm install <tgz>` (as a user does: a missing file or a wrong exports map fails here), then
// type-checks the app and runs its e2e test the way its tooling does.
// Usage: node scripts/consumers.mjs [app ...]
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeBlocks } from './readme-blocks.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const consumers = join(root, 'test', 'consumers');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const only = process.argv.slice(2);
const apps = readdirSync(consumers).filter(
  (name) => existsSync(join(consumers, name, 'package.json')) && (only.length === 0 || only.includes(name)),
);
if (apps.length === 0) throw new Error(`no consumer app matches ${only.join(', ')}`);

const run = (cwd, args) =>
  execFileSync(npm, args, { cwd, stdio: 'inherit', env: { ...process.env, CI: 'true' } });
const seconds = (since) => ((performance.now() - since) / 1000).toFixed(1);

const work = mkdtempSync(join(tmpdir(), 'wx-open-data-consumers-'));
const started = performance.now();
let failed = 0;
try {
  const packed = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = join(work, JSON.parse(packed)[0].filename);
  // The app "Getting started" builds (src/, test/); other sections' named files (a GraphQL resolver,
  // a gateway) need optional peers these apps do not install, and are type-checked by check-readme.
  const readmeFiles = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8')).filter(
    (block) =>
      block.file !== undefined &&
      block.skip === undefined &&
      (block.file.startsWith('src/') || block.file.startsWith('test/')),
  );
  const times = [];
  for (const app of apps) {
    const since = performance.now();
    const dir = join(work, app);
    cpSync(join(consumers, app), dir, { recursive: true, filter: (path) => !path.includes('node_modules') });
    for (const block of readmeFiles) {
      const file = join(dir, block.file);
      if (existsSync(file)) continue; // the app's own version wins (the Fastify app's module and test)
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${block.code}\n`);
    }
    console.log(`\n--- consumer ${app}: npm install <tarball>`);
    try {
      run(dir, ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline', tarball]);
      console.log(`--- consumer ${app}: type-check`);
      run(dir, ['run', 'typecheck']);
      console.log(`--- consumer ${app}: e2e test`);
      run(dir, ['run', 'test:e2e']);
      times.push(`${app} ok in ${seconds(since)} s`);
    } catch {
      failed += 1;
      times.push(`${app} FAILED after ${seconds(since)} s`);
    }
  }
  console.log(`\nconsumer apps (${seconds(started)} s):\n  ${times.join('\n  ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`consumers: ${apps.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
