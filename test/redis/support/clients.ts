import { Cluster, Redis } from 'ioredis';
import type { WxRedisClient, WxRedisConnectOptions } from '../../../lib/index.js';

/**
 * The Redis client libraries the store runs on. Suites that must hold on both take this list in
 * `describe.each`: with `node-redis` the store opens its own connection (URL or options, through
 * @keyv/redis), with `ioredis` it is handed an ioredis connection of the test's (bring your own
 * client), so both ways in are exercised.
 */
export const REDIS_CLIENTS = ['node-redis', 'ioredis'] as const;
export type RedisClientName = (typeof REDIS_CLIENTS)[number];

/** Where a store connects: one server, a Cluster's nodes, or a Sentinel and its master's name. */
export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly rootNodes: ReadonlyArray<{ url: string }> }
  | {
      readonly kind: 'sentinel';
      readonly name: string;
      readonly sentinelRootNodes: ReadonlyArray<{ host: string; port: number }>;
    };

/** What to give the store (`url`, `redisOptions` or `client`), and how to close what the test opened. */
export interface StoreConnection {
  readonly options: { url: string } | { redisOptions: WxRedisConnectOptions } | { client: WxRedisClient };
  close(): Promise<void>;
}

/** A way for a store to reach `topology` with library `client`: a new ioredis connection each call. */
export function storeConnection(client: RedisClientName, topology: RedisTopology): StoreConnection {
  if (client === 'node-redis') {
    const close = (): Promise<void> => Promise.resolve();
    if (topology.kind === 'single') return { options: { url: topology.url }, close };
    if (topology.kind === 'cluster')
      return { options: { redisOptions: { rootNodes: [...topology.rootNodes] } }, close };
    const { name, sentinelRootNodes } = topology;
    return { options: { redisOptions: { name, sentinelRootNodes: [...sentinelRootNodes] } }, close };
  }
  const redis = ioredisConnection(topology);
  // Errors while a test stalls or kills a server are expected; the store reacts to them itself.
  redis.on('error', () => undefined);
  return {
    options: { client: redis },
    close: async () => {
      redis.disconnect();
    },
  };
}

function ioredisConnection(topology: RedisTopology): Redis | Cluster {
  if (topology.kind === 'single') return new Redis(topology.url, { lazyConnect: true });
  if (topology.kind === 'cluster') {
    return new Cluster(
      topology.rootNodes.map(({ url }) => {
        const { hostname, port } = new URL(url);
        return { host: hostname, port: Number(port) };
      }),
      { lazyConnect: true },
    );
  }
  return new Redis({ sentinels: [...topology.sentinelRootNodes], name: topology.name, lazyConnect: true });
}
