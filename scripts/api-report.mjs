// The public API report of every entry point, by @microsoft/api-extractor, from the built type
// declarations (run after `npm run build`). The reports live in scripts/api/<entry>.api.md, so a
// change to the public surface shows up in review.
//   npm run api:check   fails when an entry point's surface differs from its report (CI)
//   npm run api:update  rewrites the reports after a deliberate change
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const entries = Object.entries(pkg.exports)
  .filter(([entry]) => entry !== './package.json')
  .map(([entry, target]) => ({
    name: entry === '.' ? 'root' : entry.slice(2),
    types: join(root, target.import.types),
  }));

const temp = join(root, 'node_modules', '.cache', 'api-report');
mkdirSync(temp, { recursive: true });
mkdirSync(join(root, 'scripts', 'api'), { recursive: true });
let changed = 0;
for (const entry of entries) {
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: entry.types,
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2022'],
            types: ['node'],
            strict: true,
            skipLibCheck: true,
            experimentalDecorators: true,
          },
          files: [entry.types],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: `${entry.name}.api.md`,
        reportFolder: join(root, 'scripts', 'api'),
        reportTempFolder: temp,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'none' },
          'ae-missing-release-tag': { logLevel: 'none', addToApiReportFile: false },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: join(root, 'scripts', 'api-report.mjs'),
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
  if (result.apiReportChanged) {
    changed += 1;
    console.log(
      update
        ? `api report: scripts/api/${entry.name}.api.md updated`
        : `api report: the surface of ${entry.name === 'root' ? pkg.name : `${pkg.name}/${entry.name}`} changed; ` +
            `compare node_modules/.cache/api-report/${entry.name}.api.md with scripts/api/${entry.name}.api.md, ` +
            'then run `npm run api:update` and commit the report',
    );
  }
  if (!result.succeeded && !(update && result.apiReportChanged)) {
    if (!result.apiReportChanged) console.error(`api report: ${entry.name}: api-extractor failed`);
    process.exitCode = 1;
  }
}
console.log(`api report: ${entries.length} entry points, ${changed} ${update ? 'updated' : 'changed'}`);
