// Stops the redis-server jest-global-setup.js started, if it started one.
export default async function globalTeardown() {
  const child = globalThis.__WX_STARTED_REDIS__;
  if (child === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
}
