// Type-checks every TypeScript block of README.md against the BUILT package (run after
// `npm run build`), the way a user pastes it into an app the Nest CLI made: CommonJS, strict,
// `nestjs-wx-open-data` and its subpaths resolved through the package's own `exports` map to dist/.
//
// - A block whose first line is a file-name comment (`// auth.controller.ts: ...`) is written under
//   that name, next to the other blocks of its `##` section, so `import { AuthController } from
//   './auth.controller'` between the blocks of one section works as it does in an app.
// - A block that is deliberately partial is preceded by `<!-- readme-check: skip (why) -->` and is
//   reported as skipped, with its reason.
// Usage: node scripts/check-readme.mjs [README.md]
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { readmeBlocks } from './readme-blocks.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = resolve(root, process.argv[2] ?? 'README.md');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const work = join(root, 'node_modules', '.cache', 'readme-check');

for (const target of Object.values(pkg.exports['.'])) {
  if (!existsSync(join(root, target.types))) {
    console.error(`readme check: ${target.types} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}

const slug = (text) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

const blocks = readmeBlocks(readFileSync(readmePath, 'utf8')).filter((b) => /^(ts|typescript)$/.test(b.lang));
const where = relative(root, readmePath);
rmSync(work, { recursive: true, force: true });

/**
 * Writes the blocks as the files of an app of module type `type` ('commonjs': what the Nest 11 CLI
 * scaffolds, where top-level await is an error; 'module': the Nest 12 CLI's ESM app) with the
 * package installed under its name, so resolution goes through package.json `exports` as for
 * users, and type-checks them. Returns the compiler's messages per block.
 */
function check(type) {
  const dir = join(work, type);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, type })}\n`);
  symlinkSync(root, join(dir, 'node_modules', pkg.name), 'dir');
  const files = new Map(); // path -> block
  for (const block of blocks) {
    if (block.skip !== undefined) continue;
    // Named blocks (`// src/app.module.ts`) form one app; the others stand alone.
    const file = join(
      dir,
      block.file === undefined ? join(slug(block.section), `line-${block.line}.ts`) : join('app', block.file),
    );
    if (files.has(file)) throw new Error(`README.md:${block.line}: ${relative(dir, file)} is named twice`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${block.code}\n`);
    files.set(file, block);
  }
  const program = ts.createProgram([...files.keys()], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node', 'jest'],
    typeRoots: [join(root, 'node_modules', '@types')],
  });
  const messages = new Map(); // block -> messages
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const text = `${type}: TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ')}`;
    const block = diagnostic.file === undefined ? undefined : files.get(resolve(diagnostic.file.fileName));
    if (block === undefined) {
      messages.set({ line: 0 }, [`${diagnostic.file?.fileName ?? 'options'}: ${text}`]);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    messages.set(block, [...(messages.get(block) ?? []), `${where}:${block.line + line}: ${text}`]);
  }
  return messages;
}

const failed = new Map();
for (const type of ['commonjs', 'module']) {
  for (const [block, list] of check(type)) failed.set(block, [...(failed.get(block) ?? []), ...list]);
}
for (const [block, list] of failed) if (block.line === 0) console.error(`readme check: ${list.join('\n')}`);

for (const block of blocks) {
  const label = `${where}:${block.line} (${block.section})`;
  if (block.skip !== undefined) console.log(`  skipped ${label}: ${block.skip}`);
  else if (failed.has(block)) console.log(`  FAILED  ${label}\n    ${failed.get(block).join('\n    ')}`);
  else console.log(`  ok      ${label}`);
}
const skipped = blocks.filter((b) => b.skip !== undefined).length;
console.log(
  `readme check: ${blocks.length} TypeScript blocks, ${blocks.length - skipped - failed.size} compile, ` +
    `${skipped} skipped, ${failed.size} failed`,
);
process.exit(failed.size > 0 ? 1 : 0);
