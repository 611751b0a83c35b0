// Issue #7's memory figure: heap bytes per session in MemoryWxSessionStore at 100,000 sessions.
//
// Run in its own process with --expose-gc (run.mjs does it through `runMemoryBench`): the heap is
// measured after full collections, before and after opening the sessions through
// WxSessionService.create, as a login does. Every session is a different user (its own openid
// and session key), so each one also stores that user's keys: both entries are the session's cost.
// The strings are made inside the measured span and kept only by the store, so their bytes count.
//   node --expose-gc bench/memory.bench.mjs [sessions]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BENCH_APP_ID } from './fixtures.mjs';

/** Spawns this file with --expose-gc and returns its JSON answer. */
export function runMemoryBench({ sessions = 100_000, timeoutMs = 120_000 } = {}) {
  const file = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', file, String(sessions)],
      { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`memory bench failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

async function measureInThisProcess(sessions) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
  await import('reflect-metadata');
  const { NestFactory } = await import('@nestjs/core');
  const { MemoryWxSessionStore, WxOpenDataModule, WxSessionService } = await import('nestjs-wx-open-data');

  const APP_ID = BENCH_APP_ID;
  // Room for every session and its user's keys: the default bound (100,000 entries, sessions and
  // keys together) would hold only half of 100,000 one-session users.
  const maxEntries = sessions * 2 + 1000;
  const store = new MemoryWxSessionStore({ maxEntries });
  const app = await NestFactory.createApplicationContext(
    WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: 'bench-secret', sessionStore: store }),
    { logger: false },
  );
  const service = app.get(WxSessionService);

  const settledHeap = async () => {
    for (let i = 0; i < 4; i++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage().heapUsed;
  };

  // One session first, so code and lazily created structures are not counted.
  await service.create({ openid: 'o-warm-up', sessionKey: randomBytes(16).toString('base64') });
  const before = await settledHeap();
  const started = process.hrtime.bigint();
  for (let i = 0; i < sessions; i++) {
    await service.create({
      // As code2Session returns them: a 28-character openid, base64 of a 16-byte key (24 chars).
      openid: `o${randomBytes(20).toString('base64url').slice(0, 27)}`,
      sessionKey: randomBytes(16).toString('base64'),
    });
  }
  const createSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = await settledHeap();
  const held = store.size;
  await app.close();
  return {
    sessions,
    store_entries: held,
    store_max_entries: maxEntries,
    heap_before_bytes: before,
    heap_after_bytes: after,
    bytes_per_session: (after - before) / sessions,
    creates_per_sec: sessions / createSeconds,
    note: 'heapUsed after full GCs, before and after WxSessionService.create for distinct users: each session holds its record (token, openid, appId, createdAt) and its user keys (session key, version); no unionid',
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sessions = Math.min(Math.max(Number(process.argv[2] ?? 100_000) || 100_000, 1), 1_000_000);
  process.stdout.write(JSON.stringify(await measureInThisProcess(sessions)));
}
