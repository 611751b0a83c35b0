import { randomBytes } from 'node:crypto';
import {
  RedisWxSessionStore,
  WxSessionStoreUnavailableError,
  wxUserId,
  type WxStoreEncryptionKey,
  type WxUserKeys,
} from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import {
  dropNamespace,
  inspectorClient,
  REDIS_URL,
  requireRedis,
  testNamespace,
} from '../redis/support/redis-harness.js';

const APP = 'wx0123456789abcdef';
const newKey = (id: string): WxStoreEncryptionKey => ({ id, key: randomBytes(32).toString('base64') });

describe('RedisWxSessionStore envelope encryption', () => {
  const namespace = testNamespace('encryption');
  const opened: RedisWxSessionStore[] = [];
  const open = async (keys: WxStoreEncryptionKey[] | undefined): Promise<RedisWxSessionStore> => {
    const store = new RedisWxSessionStore({
      url: REDIS_URL,
      namespace,
      commandTimeoutMs: 2000,
      ...(keys ? { encryption: { keys } } : {}),
    });
    opened.push(store);
    await store.connect();
    return store;
  };

  beforeAll(async () => {
    await requireRedis();
  });
  afterAll(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await dropNamespace(namespace);
  });

  describe('checked at boot, never quoting a key', () => {
    const secret = randomBytes(31).toString('base64');
    it.each([
      ['no keys', { keys: [] }, /at least one key/],
      ['a 31-byte key', { keys: [{ id: 'a', key: secret }] }, /key a must be 32 bytes/],
      ['a key that is not base64', { keys: [{ id: 'a', key: `${'A'.repeat(43)}!` }] }, /32 bytes/],
      ['a key of 33 raw bytes', { keys: [{ id: 'a', key: randomBytes(33) }] }, /32 bytes/],
      ['a bad id', { keys: [{ id: 'a b', key: randomBytes(32) }] }, /keys\[0\]\.id/],
      ['ids listed twice', { keys: [newKey('a'), newKey('a')] }, /listed twice/],
      ['no keys array', {}, /encryption must be/],
    ])('refuses %s', (_label, encryption, message) => {
      let error: unknown;
      try {
        void new RedisWxSessionStore({ url: REDIS_URL, namespace, encryption: encryption as never }).close();
      } catch (caught) {
        error = caught;
      }
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(secret);
    });

    it('takes the key as bytes or base64', async () => {
      for (const key of [randomBytes(32), randomBytes(32).toString('base64')]) {
        const store = new RedisWxSessionStore({
          url: REDIS_URL,
          namespace,
          encryption: { keys: [{ id: 'k', key }] },
        });
        await store.close();
      }
    });
  });

  it('rotates: the first key writes, every listed key reads, an unlisted one answers 503 (never "absent")', async () => {
    const [k1, k2] = [newKey('k1'), newKey('k2')];
    const before = await open([k1]);
    const during = await open([k2, k1]);
    const after = await open([k2]);
    const [old, fresh] = [wxUserId(APP, 'o-rot-old'), wxUserId(APP, 'o-rot-new')];
    const oldKeys: WxUserKeys = { sessionKey: createSessionKey(), version: 1 };
    const freshKeys: WxUserKeys = {
      sessionKey: createSessionKey(),
      version: 2,
      previousSessionKey: createSessionKey(),
      previousKeyExpiresAt: Date.now() + 30_000,
    };
    await expect(before.setUserKeys(old, oldKeys, null, 60)).resolves.toBe(true);
    await expect(during.getUserKeys(old)).resolves.toEqual(oldKeys);
    await expect(during.setUserKeys(fresh, freshKeys, null, 60)).resolves.toBe(true);
    await expect(after.getUserKeys(fresh)).resolves.toEqual(freshKeys);
    await expect(before.getUserKeys(fresh)).rejects.toThrow(WxSessionStoreUnavailableError);
    await expect(after.getUserKeys(old)).rejects.toThrow(WxSessionStoreUnavailableError);
    const token = {
      accessToken: `AT-${createSessionKey()}`,
      expiresAt: Date.now() + 60_000,
      refreshAt: Date.now() + 30_000,
    };
    await before.writeAccessToken(APP, token);
    await expect(during.readAccessToken(APP)).resolves.toEqual(token);
    await expect(after.readAccessToken(APP)).rejects.toThrow(WxSessionStoreUnavailableError);
  });

  it('binds sealed keys to their user and version: moved or re-versioned in Redis, they do not open', async () => {
    const store = await open([newKey('bind')]);
    const inspector = await inspectorClient();
    try {
      const [alice, mallory] = [wxUserId(APP, 'o-alice'), wxUserId(APP, 'o-mallory')];
      await store.setUserKeys(alice, { sessionKey: createSessionKey(), version: 5 }, null, 60);
      const sealed = (await inspector.get(`${namespace}:user:${alice}`)) as string;
      await inspector.set(`${namespace}:user:${mallory}`, sealed);
      await expect(store.getUserKeys(mallory)).rejects.toThrow(WxSessionStoreUnavailableError);
      await inspector.set(`${namespace}:user:${alice}`, sealed.replace('"version":5', '"version":6'));
      await expect(store.getUserKeys(alice)).rejects.toThrow(WxSessionStoreUnavailableError);
    } finally {
      inspector.destroy();
    }
  });

  it('never trusts keys written in clear once encryption is on; the next login replaces them', async () => {
    const plain = await open(undefined);
    const sealed = await open([newKey('on')]);
    const user = wxUserId(APP, 'o-legacy');
    await plain.setUserKeys(user, { sessionKey: createSessionKey(), version: 1 }, null, 60);
    await expect(sealed.getUserKeys(user)).resolves.toBeUndefined();
    const next: WxUserKeys = { sessionKey: createSessionKey(), version: 2 };
    await expect(sealed.setUserKeys(user, next, null, 60)).resolves.toBe(true);
    await expect(sealed.getUserKeys(user)).resolves.toEqual(next);
    // And the other way: a store without the keys sees no keys, and can write its own.
    await expect(plain.getUserKeys(user)).resolves.toBeUndefined();
    await expect(
      plain.setUserKeys(user, { sessionKey: createSessionKey(), version: 3 }, null, 60),
    ).resolves.toBe(true);
  });
});
