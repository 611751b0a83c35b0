// Profiles the bench server under load on one route, to see where a request's time goes.
//
//   node bench/profile-http.mjs fastify verified [seconds]      (routes: bare, verified, verified_dto)
//
// Starts http-server.mjs with --cpu-prof, drives the route with autocannon (50 connections) for
// `seconds` (default 5), and prints the server's CPU time per request by package and by function
// (self time), plus the inclusive time of the library's own steps. The .cpuprofile is kept in
// bench/results/profiles/ for Chrome DevTools or speedscope.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, ROUTES, sessionWithBodies, startServer, stopServer } from './http.bench.mjs';

const [adapter = 'fastify', route = 'verified', secondsArg = '5'] = process.argv.slice(2);
if (!(route in ROUTES)) throw new Error(`route must be one of ${Object.keys(ROUTES).join(', ')}`);
const seconds = Math.min(Math.max(Number(secondsArg) || 5, 1), 30);
const dir = join('bench/results/profiles', `${adapter}-${route}-${Date.now()}`);
mkdirSync(dir, { recursive: true });

const server = await startServer(adapter, 30_000, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
let result;
try {
  // Replay protection is on: each run gets a session and bodies of its own.
  await load(server.port, ROUTES[route], await sessionWithBodies(server.child, 40_000), {
    connections: 50,
    seconds: 1,
  });
  const request = await sessionWithBodies(server.child, seconds * 40_000);
  result = await load(server.port, ROUTES[route], request, { connections: 50, seconds });
} finally {
  await stopServer(server.child);
}
const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
const requests = result['2xx'];
console.log(
  `${adapter} ${route}: ${Math.round(requests / result.duration)} req/s, profile ${join(dir, file)}`,
);
summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')), requests);

/** Self time by package and by function, and inclusive time of selected frames, in µs per request. */
function summarise(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const time = new Map();
  profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const frame = (n) => {
    const url = n.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/dist\/esm\//, 'lib:');
    return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  };
  const pkg = (n) => {
    const url = n.callFrame.url;
    if (!url) return n.callFrame.functionName;
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (match) return match[1];
    if (url.includes('/dist/esm/')) return `lib:${url.split('/dist/esm/')[1]}`;
    return url;
  };
  const bySelf = new Map();
  const byPkg = new Map();
  const inclusive = new Map();
  const add = (map, key, t) => map.set(key, (map.get(key) ?? 0) + t);
  for (const [id, t] of time) {
    const n = byId.get(id);
    add(bySelf, frame(n), t);
    add(byPkg, pkg(n), t);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const key = frame(byId.get(cur));
      if (!seen.has(key)) add(inclusive, key, t);
      seen.add(key);
    }
  }
  const busy = [...time].reduce(
    (sum, [id, t]) => (frame(byId.get(id)).startsWith('(idle)') ? sum : sum + t),
    0,
  );
  console.log(`server CPU busy: ${(busy / requests).toFixed(1)} µs per request\n`);
  const show = (map, n, title, filter = () => true) => {
    console.log(`-- ${title} (µs per request)`);
    [...map]
      .filter(([key]) => filter(key))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .forEach(([key, t]) => console.log(`${(t / requests).toFixed(2).padStart(8)}  ${key}`));
    console.log('');
  };
  show(byPkg, 20, 'self time by package');
  show(bySelf, 30, 'self time by function');
  show(inclusive, 25, 'inclusive time of the library and the Nest pipeline', (key) =>
    /lib:|interceptors-consumer|guards-consumer|router-execution-context/.test(key),
  );
}
