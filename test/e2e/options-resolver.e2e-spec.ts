import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import {
  WxApiClient,
  WxOpenDataConfigError,
  WxOpenDataModule,
  type WxOpenDataModuleOptions,
} from '../../lib/index.js';
import { resolveWxOpenDataModuleConfig } from '../../lib/nest/config.js';
import { captureError } from '../support/capture-error.js';
import { countingListener } from '../support/counting-listener.js';
import { APP_ID } from '../support/payloads.js';

const boot = (options: WxOpenDataModuleOptions) =>
  Test.createTestingModule({ imports: [WxOpenDataModule.forRoot(options)] }).compile();

async function problemsOf(booting: Promise<unknown>): Promise<readonly string[]> {
  const error: unknown = await booting.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WxOpenDataConfigError);
  return (error as WxOpenDataConfigError).problems;
}

describe('one resolver for every option', () => {
  it('reports an apiTimeoutMs the client would refuse, before any connection is opened', async () => {
    const redis = await countingListener();
    try {
      const problems = await problemsOf(
        boot({ appId: APP_ID, appSecret: 's', apiTimeoutMs: 700_000, redis: { url: redis.url } }),
      );
      expect(problems).toEqual(['apiTimeoutMs must be an integer from 1 to 600000']);
      // Give a connection that was started time to arrive: none may.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(redis.connections()).toBe(0);
    } finally {
      await redis.close();
    }
  });

  it('reports an apiBaseUrl with a query', async () => {
    const problems = await problemsOf(
      boot({ appId: APP_ID, appSecret: 's', apiBaseUrl: 'https://example.com/?x=1' }),
    );
    expect(problems).toEqual(['apiBaseUrl must be an http(s) URL, absolute, without query or fragment']);
  });

  it('reports a malformed AppID and a missing secret together', async () => {
    const problems = await problemsOf(boot({ appId: 'wx123' }));
    expect(problems).toEqual([
      'appId must be a mini program AppID ("wx" followed by 16 letters or digits)',
      'appSecret must be a non-empty string',
    ]);
  });

  it("reports the Redis store's problems with the module's, without building the store", async () => {
    const problems = await problemsOf(
      boot({ appId: APP_ID, appSecret: 's', sessionTtlSeconds: 0, redis: { url: 'http://127.0.0.1:1' } }),
    );
    expect(problems).toEqual([
      'sessionTtlSeconds must be a positive integer',
      'redis: url must be a redis:// or rediss:// URL',
    ]);
  });

  it("reports the Redis store's encryption problems with the rest, as a config error, before any connection", async () => {
    const redis = await countingListener();
    try {
      const problems = await problemsOf(
        boot({
          appId: APP_ID,
          appSecret: '',
          redis: { url: redis.url, encryption: { keys: [{ id: 'has space', key: 'x' }] } },
        }),
      );
      expect(problems).toEqual([
        'appSecret must be a non-empty string',
        'redis: encryption.keys[0].id must be 1-32 letters, digits, _ or -',
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(redis.connections()).toBe(0);
    } finally {
      await redis.close();
    }
  });

  it('names the optional peers to install when `redis` needs them and they are missing', async () => {
    // Resolved from a folder with no node_modules above it: Node's real "not found".
    const nowhere = createRequire(join(tmpdir(), 'wx-open-data-no-packages', 'index.js'));
    const booting = resolveWxOpenDataModuleConfig(
      { appId: 'wx123', redis: { url: 'redis://127.0.0.1:6379' } },
      async (name) => nowhere(name),
    );
    const problems = await problemsOf(booting);
    expect(problems).toEqual([
      'redis needs the optional peer dependencies keyv and @keyv/redis: npm install keyv @keyv/redis',
      'appId must be a mini program AppID ("wx" followed by 16 letters or digits)',
      'appSecret must be a non-empty string',
    ]);
  });

  it('a peer that is installed but cannot find a dependency of its own is not called missing', async () => {
    const nowhere = createRequire(join(tmpdir(), 'wx-open-data-no-packages', 'index.js'));
    const booting = resolveWxOpenDataModuleConfig(
      { appId: APP_ID, appSecret: 's', redis: { url: 'redis://127.0.0.1:6379' } },
      // keyv loads; @keyv/redis is there but its own dependency is not: Node's real "not found".
      async (name) => (name === '@keyv/redis' ? nowhere('@redis/client') : undefined),
    );
    expect(await problemsOf(booting)).toEqual(['redis: @keyv/redis is installed but does not load (Error)']);
  });

  it('loads the optional peers when they are installed, and only then builds the store', async () => {
    const redis = await countingListener();
    try {
      const config = await resolveWxOpenDataModuleConfig({
        appId: APP_ID,
        appSecret: 's',
        redis: { url: redis.url },
      });
      expect(config.ownsSessionStore).toBe(true);
      await config.sessionStore.close();
    } finally {
      await redis.close();
    }
  });

  it('makes WxApiClient report every problem at once, in the same error', () => {
    const caught = captureError(
      () => new WxApiClient({ appId: '', appSecret: '', timeoutMs: 0, apiBaseUrl: 'ftp://x' }),
    );
    expect(caught).toBeInstanceOf(WxOpenDataConfigError);
    expect((caught as WxOpenDataConfigError).problems).toEqual([
      'appId must be a non-empty string',
      'appSecret must be a non-empty string',
      'apiBaseUrl must be an http(s) URL, absolute, without query or fragment',
      'timeoutMs must be an integer from 1 to 600000',
    ]);
  });
});
