import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WycheproofCase {
  tcId: number;
  comment: string;
  key: string;
  iv: string;
  msg: string;
  ct: string;
  result: 'valid' | 'invalid';
}

interface WycheproofFile {
  testGroups: Array<{ keySize: number; tests: WycheproofCase[] }>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The shared vectors sit beside the clone, as on every developer machine and in CI. */
const VECTORS = resolve(here, '../../../shared/vectors/wycheproof-aes-cbc-pkcs5.json');

/** The Wycheproof AES-CBC-PKCS5 cases of one key size; throws (never skips) when absent. */
export function wycheproofCases(keySize: 128 | 192 | 256): WycheproofCase[] {
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as WycheproofFile;
  const group = file.testGroups.find((g) => g.keySize === keySize);
  if (group === undefined) throw new Error(`no ${keySize}-bit group in ${VECTORS}`);
  return group.tests;
}
