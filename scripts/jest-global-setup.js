// Before the suite: make sure the Redis the Redis-store tests use is up. When nothing answers on
// 127.0.0.1:6379 and `redis-server` is installed, start one without persistence for this run (it is
// stopped in jest-global-teardown.js). When there is no Redis at all, do nothing: those tests then
// fail loudly with a connection error, they never skip.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

const PORT = 6379;

function answers(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.end('PING\r\n');
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export default async function globalSetup() {
  if (await answers(PORT)) return;
  const child = spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const spawned = await new Promise((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned) {
    console.warn('\nNo Redis on 127.0.0.1:6379 and no redis-server to start: the Redis tests will fail.');
    return;
  }
  for (let i = 0; i < 50 && !(await answers(PORT)); i++) await new Promise((r) => setTimeout(r, 100));
  globalThis.__WX_STARTED_REDIS__ = child;
  console.log(`\nStarted redis-server on 127.0.0.1:${PORT} for this run (pid ${child.pid}).`);
}
