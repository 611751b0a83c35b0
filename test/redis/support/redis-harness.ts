import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';

/** The machine's Redis, which these tests need and never stop. */
export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** Sends one inline command and resolves with the first reply line, or rejects within `timeoutMs`. */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: REDIS_HOST, port });
    let reply = '';
    const done = (error?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply.split('\r\n')[0] ?? '');
    };
    const timer = setTimeout(
      () => done(new Error(`no answer from 127.0.0.1:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done();
    });
    socket.on('error', (error) => done(error));
  });
}

/**
 * Fails loudly (never skips) when the machine's Redis is not there: these tests are part of the
 * suite, and `.ci/run` starts Redis when `redis-cli ping` fails.
 */
export async function requireRedis(): Promise<void> {
  let reply: string;
  try {
    reply = await redisCommand(REDIS_PORT, 'PING');
  } catch (error) {
    throw new Error(
      `Redis is required at ${REDIS_HOST}:${REDIS_PORT} for the Redis store tests and is not answering ` +
        `(${(error as Error).message}). Start it (redis-server --port 6379) or run .ci/run, which does.`,
    );
  }
  if (reply !== '+PONG') throw new Error(`Redis at ${REDIS_HOST}:${REDIS_PORT} answered ${reply} to PING`);
}

/** A namespace of its own for each suite, so parallel test files never see each other's keys. */
export function testNamespace(label: string): string {
  return `wx-test:${label}:${randomBytes(4).toString('hex')}`;
}

function newInspector(port: number) {
  return createClient({ url: `redis://${REDIS_HOST}:${port}` });
}

/** A plain node-redis client, for looking at what the store wrote. */
export type RedisInspector = ReturnType<typeof newInspector>;

/** A plain node-redis client on the machine's Redis, for looking at what the store wrote. */
export async function inspectorClient(port = REDIS_PORT): Promise<RedisInspector> {
  const client = newInspector(port);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Every key under `namespace`, found with SCAN (bounded: the namespace holds a test's keys only). */
export async function keysUnder(client: RedisInspector, namespace: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${namespace}:*`, COUNT: 1000 })) {
    keys.push(...batch);
  }
  return keys;
}

/** Deletes every key under `namespace`. */
export async function dropNamespace(namespace: string): Promise<void> {
  const client = await inspectorClient();
  try {
    // Batch by batch as SCAN finds them: one DEL of every key would not scale.
    for await (const batch of client.scanIterator({ MATCH: `${namespace}:*`, COUNT: 1000 })) {
      if (batch.length > 0) await client.unlink(batch);
    }
  } finally {
    client.destroy();
  }
}

/** Binds `port` on loopback (0: any), and resolves with the port bound, or `undefined` if taken. */
async function bindPort(port: number): Promise<{ port: number; release(): Promise<void> } | undefined> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, REDIS_HOST, () => resolve(true));
  });
  if (!bound) return undefined;
  return {
    port: (server.address() as AddressInfo).port,
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A cluster node also listens on its port + 10,000 (the cluster bus), so its port must be at most
 * 55,535 and that second port free as well: otherwise redis-server exits with 1 at start.
 */
const CLUSTER_BUS_OFFSET = 10_000;

/**
 * A free loopback port: bound once by the OS, then released for redis-server to take. With
 * `clusterBus`, one whose cluster bus port is free too (bounded: 50 tries).
 */
export async function freePort(options: { clusterBus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const candidate = await bindPort(0);
    if (candidate === undefined) continue;
    const { port } = candidate;
    const bus =
      options.clusterBus === true && port + CLUSTER_BUS_OFFSET <= 65_535
        ? await bindPort(port + CLUSTER_BUS_OFFSET)
        : undefined;
    await candidate.release();
    await bus?.release();
    if (port === REDIS_PORT) throw new Error('the OS handed out 6379; refusing to touch the machine Redis');
    if (options.clusterBus !== true || bus !== undefined) return port;
  }
  throw new Error('no free loopback port (with its cluster bus port) in 50 tries');
}

export async function pause(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** redis-server stopped before it answered PING: its exit code and the last lines it printed. */
class RedisExitedAtStart extends Error {
  constructor(port: number, code: number, output: string) {
    super(
      `redis-server on port ${port} exited with ${code} at start: ${output.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
}

/**
 * A redis-server of the test's own on another loopback port, as a child process the test may
 * stop (SIGSTOP), resume, kill and restart. Never the machine's Redis on 6379.
 *
 * With `persistent`, it keeps an append-only file fsynced on every write in a temporary
 * directory, so a killed and restarted server comes back with its data, like a production Redis
 * with AOF; without, it keeps nothing (`--save "" --appendonly no`).
 */
export class RedisServerProcess {
  private child: ChildProcess | undefined;
  private readonly dir: string | undefined;

  private constructor(
    readonly port: number,
    persistent: boolean,
    private readonly extraArgs: readonly string[],
  ) {
    this.dir = persistent ? mkdtempSync(join(tmpdir(), 'wx-redis-')) : undefined;
  }

  /**
   * @param options.persistent - keep an fsynced AOF, so a restart keeps the data
   * @param options.args - more redis-server arguments (a config file first, for Sentinel), or a
   *   function of the port that builds them
   * @param options.clusterBus - a cluster node: its port + 10,000 must be free too
   */
  static async start(
    options: {
      persistent?: boolean;
      args?: readonly string[] | ((port: number) => readonly string[]);
      clusterBus?: boolean;
    } = {},
  ): Promise<RedisServerProcess> {
    // A port found free can be taken by another test's server before redis-server binds it:
    // then it exits at start, and a new port is tried (bounded: 3 tries).
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort({ clusterBus: options.clusterBus ?? false });
      const args = typeof options.args === 'function' ? options.args(port) : (options.args ?? []);
      const server = new RedisServerProcess(port, options.persistent ?? false, args);
      try {
        await server.launch();
        return server;
      } catch (error) {
        await server.stop();
        if (attempt >= 3 || !(error instanceof RedisExitedAtStart)) throw error;
      }
    }
  }

  get url(): string {
    return `redis://${REDIS_HOST}:${this.port}`;
  }

  /** Starts (again) on the same port; resolves once it answers PING. */
  async launch(): Promise<void> {
    if (this.child !== undefined) throw new Error('redis-server already running');
    const persistence =
      this.dir === undefined
        ? ['--save', '', '--appendonly', 'no']
        : ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir];
    const [configFile, ...extra] = this.extraArgs;
    const args = [
      ...(configFile?.endsWith('.conf') ? [configFile] : []),
      '--port',
      String(this.port),
      '--bind',
      REDIS_HOST,
      ...persistence,
      '--daemonize',
      'no',
      ...(configFile?.endsWith('.conf') ? extra : this.extraArgs),
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // The last lines it printed, for the error if it exits at start (Redis logs little after).
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`redis-server could not start: ${error.message}`)));
    });
    await spawned;
    // Bounded: 100 tries, 50 ms apart.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (child.exitCode !== null) {
        this.child = undefined;
        throw new RedisExitedAtStart(this.port, child.exitCode, output);
      }
      const reply = await redisCommand(this.port, 'PING', 200).catch(() => '');
      if (reply === '+PONG') return;
      await pause(50);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING within 5 s`);
  }

  /** SIGSTOP: the process stays, connections stay open, nothing answers. */
  stall(): void {
    this.signal('SIGSTOP');
  }

  /** SIGCONT after {@link stall}. */
  resume(): void {
    this.signal('SIGCONT');
  }

  /** SIGKILL, and waits for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the server and removes its files. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.child === undefined) throw new Error('redis-server is not running');
    this.child.kill(signal);
  }
}

/** Runs redis-cli with `args`, within 10 s. */
function redisCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', [...args], { timeout: 10_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

/** Retries `check` every 100 ms until it holds, for at most `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  // Bounded by timeoutMs.
  while (Date.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return;
    await pause(100);
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms`);
}

/**
 * A Redis Cluster of three masters (no replicas) on loopback ports of the test's own, made with
 * `redis-cli --cluster create`, for the store's Cluster code path.
 */
export class RedisClusterProcesses {
  private constructor(
    readonly nodes: readonly RedisServerProcess[],
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisClusterProcesses> {
    const dir = mkdtempSync(join(tmpdir(), 'wx-redis-cluster-'));
    const nodes: RedisServerProcess[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        nodes.push(
          await RedisServerProcess.start({
            // A file per port: a node that exits at start has already written its own.
            args: (port) => [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              join(dir, `nodes-${port}.conf`),
            ],
            clusterBus: true,
          }),
        );
      }
      await redisCli([
        '--cluster',
        'create',
        ...nodes.map((node) => `${REDIS_HOST}:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      for (const node of nodes) {
        await until(`cluster node ${node.port}`, async () =>
          (await redisCli(['-p', String(node.port), 'cluster', 'info'])).includes('cluster_state:ok'),
        );
      }
      return new RedisClusterProcesses(nodes, dir);
    } catch (error) {
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** What `createCluster` and the store's `redisOptions` take. */
  get rootNodes(): Array<{ url: string }> {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A master and one Sentinel watching it as `mymaster`, for the store's Sentinel code path. */
export class RedisSentinelProcesses {
  static readonly MASTER_NAME = 'mymaster';

  private constructor(
    readonly master: RedisServerProcess,
    readonly sentinel: RedisServerProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisSentinelProcesses> {
    const dir = mkdtempSync(join(tmpdir(), 'wx-redis-sentinel-'));
    const master = await RedisServerProcess.start();
    let sentinel: RedisServerProcess | undefined;
    try {
      // Sentinel rewrites its configuration file: one of its own, in a temporary directory.
      const config = join(dir, 'sentinel.conf');
      writeFileSync(
        config,
        `sentinel monitor ${RedisSentinelProcesses.MASTER_NAME} ${REDIS_HOST} ${master.port} 1\n` +
          `sentinel down-after-milliseconds ${RedisSentinelProcesses.MASTER_NAME} 5000\n`,
      );
      sentinel = await RedisServerProcess.start({ args: [config, '--sentinel'] });
      const port = String(sentinel.port);
      await until('sentinel', async () =>
        (
          await redisCli([
            '-p',
            port,
            'sentinel',
            'get-master-addr-by-name',
            RedisSentinelProcesses.MASTER_NAME,
          ])
        ).includes(String(master.port)),
      );
      return new RedisSentinelProcesses(master, sentinel, dir);
    } catch (error) {
      await sentinel?.stop();
      await master.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** What `createSentinel` and the store's `redisOptions` take. */
  get options(): { name: string; sentinelRootNodes: Array<{ host: string; port: number }> } {
    return {
      name: RedisSentinelProcesses.MASTER_NAME,
      sentinelRootNodes: [{ host: REDIS_HOST, port: this.sentinel.port }],
    };
  }

  async stop(): Promise<void> {
    await this.sentinel.stop();
    await this.master.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
