import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNS, SEED } from './env.js';

/** Where the figures of the last run go: under the OS temp dir, never in the repository. */
export const RESULTS_DIR = join(tmpdir(), 'nestjs-wx-open-data-adversarial');
export const RESULTS_FILE = join(RESULTS_DIR, 'last-run.json');

/** Fragments older than this are from another run and left out of the merged file. */
const SAME_RUN_MS = 15 * 60_000;

type Figures = Record<string, unknown>;

interface Fragment {
  file: string;
  finishedAt: string;
  seed: number;
  runs: number;
  node: string;
  nestjs: string;
  categories: Record<string, Record<string, Figures>>;
}

/**
 * The figures of one test file, per category and adapter. `write()` stores them as a fragment
 * and rebuilds `last-run.json` from every fragment of the same run (same seed, runs and NestJS
 * version, written within 15 minutes), since Jest runs the files in parallel workers.
 */
export class RunSummary {
  private readonly categories: Record<string, Record<string, Figures>> = {};

  constructor(private readonly file: string) {}

  record(category: string, adapter: string, figures: Figures): void {
    (this.categories[category] ??= {})[adapter] = figures;
  }

  write(): { file: string; fragment: Fragment } {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const fragment: Fragment = {
      file: this.file,
      finishedAt: new Date().toISOString(),
      seed: SEED,
      runs: RUNS,
      node: process.version,
      nestjs: nestVersion(),
      categories: this.categories,
    };
    writeAtomically(join(RESULTS_DIR, `fragment-${this.file}.json`), fragment);
    const fragments = readdirSync(RESULTS_DIR)
      .filter((name) => name.startsWith('fragment-') && name.endsWith('.json'))
      .map((name) => JSON.parse(readFileSync(join(RESULTS_DIR, name), 'utf8')) as Fragment)
      .filter(
        (other) =>
          other.seed === fragment.seed &&
          other.runs === fragment.runs &&
          other.nestjs === fragment.nestjs &&
          Math.abs(Date.parse(other.finishedAt) - Date.parse(fragment.finishedAt)) < SAME_RUN_MS,
      )
      .sort((a, b) => a.file.localeCompare(b.file));
    writeAtomically(RESULTS_FILE, {
      seed: SEED,
      runs: RUNS,
      node: process.version,
      nestjs: fragment.nestjs,
      writtenAt: fragment.finishedAt,
      files: Object.fromEntries(
        fragments.map((f) => [f.file, { finishedAt: f.finishedAt, categories: f.categories }]),
      ),
    });
    return { file: RESULTS_FILE, fragment };
  }
}

function writeAtomically(path: string, value: unknown): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, path);
}

function nestVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  try {
    const manifest = readFileSync(resolve(here, '../../../node_modules/@nestjs/core/package.json'), 'utf8');
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
