import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import request from 'supertest';
import { RedisWxSessionStore, WxOpenDataModule, type WxStoreEncryptionOptions } from '../../lib/index.js';
import { FakeWeChatServer, MiniProgramClient } from '../../lib/testing/index.js';
import { AuthTestRoutes } from '../support/auth-routes.js';
import { startTestApp } from '../support/nest-app.js';
import {
  dropNamespace,
  inspectorClient,
  keysUnder,
  REDIS_HOST,
  REDIS_PORT,
  REDIS_URL,
  requireRedis,
  testNamespace,
} from '../redis/support/redis-harness.js';

// Issue 11 §5: Redis held each user's session key and each app's access token as plain JSON, and
// the key-rotation script took the key as an argument, so KEYS/GET, SLOWLOG and MONITOR showed
// them: whoever reads Redis could forge any user's open data. With `encryption`, an attacker who
// reads everything Redis holds and every command it is sent finds neither.
const APP_ID = 'wx5e5e5e5e5e5e5e5e';
const APP_SECRET = 'store-secrets-app-secret-1a2b3c';
const ENCRYPTION: WxStoreEncryptionOptions = {
  keys: [{ id: 'k2026', key: randomBytes(32).toString('base64') }],
};

/** Every command Redis is sent while it runs, as MONITOR prints them. */
class RedisMonitor {
  private text = '';
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => (this.text += chunk.toString('utf8')));
  }

  static async start(): Promise<RedisMonitor> {
    const socket = createConnection({ host: REDIS_HOST, port: REDIS_PORT });
    const monitor = new RedisMonitor(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('connect', () => socket.write('MONITOR\r\n'));
      socket.on('data', () => {
        if (monitor.text.startsWith('+OK')) resolve();
      });
    });
    return monitor;
  }

  /** Waits until Redis has echoed `marker` (a GET of it), then stops and returns what it saw. */
  async stop(marker: string): Promise<string> {
    const client = await inspectorClient();
    for (let i = 0; i < 200 && !this.text.includes(marker); i++) {
      await client.get(marker);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    client.destroy();
    this.socket.destroy();
    return this.text;
  }
}

/** Everything under `namespace`, as an attacker with read access dumps it. */
async function dump(namespace: string): Promise<string> {
  const client = await inspectorClient();
  try {
    const parts: string[] = [];
    for (const key of await keysUnder(client, namespace)) {
      const type = await client.type(key);
      const value = type === 'hash' ? JSON.stringify(await client.hGetAll(key)) : await client.get(key);
      parts.push(`${key} => ${String(value)}`);
    }
    return parts.join('\n');
  } finally {
    client.destroy();
  }
}

/** The forms a 16-byte session key could be found in. */
function keyForms(sessionKey: string): string[] {
  const raw = Buffer.from(sessionKey, 'base64');
  return [
    sessionKey,
    raw.toString('hex'),
    raw.toString('base64url'),
    JSON.stringify(sessionKey).slice(1, -1),
  ];
}

interface Exposure {
  /** What Redis held after the logins and the phone-code call. */
  readonly stored: string;
  /** What MONITOR showed of the commands meanwhile. */
  readonly monitored: string;
  readonly sessionKeys: string[];
  readonly accessToken: string;
}

/** Two logins of one user (a key rotation) and a phone-code call (the access token), watched. */
async function exposure(encryption: WxStoreEncryptionOptions | undefined): Promise<Exposure> {
  const namespace = testNamespace('store-secrets');
  const wechat = new FakeWeChatServer({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }] });
  const apiBaseUrl = await wechat.start();
  let app: INestApplication | undefined;
  try {
    app = await startTestApp('express', {
      imports: [
        WxOpenDataModule.forRoot({
          appId: APP_ID,
          appSecret: APP_SECRET,
          apiBaseUrl,
          redis: { url: REDIS_URL, namespace, commandTimeoutMs: 2000, ...(encryption ? { encryption } : {}) },
        }),
      ],
      controllers: [AuthTestRoutes],
    });
    const server = app.getHttpServer();
    const user = new MiniProgramClient(wechat, { appId: APP_ID });
    const monitor = await RedisMonitor.start();
    const sessionKeys: string[] = [];
    let token = '';
    for (let i = 0; i < 2; i++) {
      const login = await request(server).post('/auth/login').send({ code: user.login() }).expect(200);
      token = login.body.token as string;
      sessionKeys.push(user.sessionKey());
    }
    await request(server)
      .post('/me/phone-code')
      .set('Authorization', `Bearer ${token}`)
      .send({ code: user.getPhoneNumberCode('13911112222') })
      .expect(200);
    const monitored = await monitor.stop(`${namespace}:monitor-end`);
    // The access token, as the fleet shares it: read back through a store that holds the keys.
    const reader = new RedisWxSessionStore({
      url: REDIS_URL,
      namespace,
      ...(encryption ? { encryption } : {}),
    });
    await reader.connect();
    const shared = await reader.readAccessToken(APP_ID);
    await reader.close();
    expect(shared).toBeDefined();
    return { stored: await dump(namespace), monitored, sessionKeys, accessToken: shared?.accessToken ?? '' };
  } finally {
    await app?.close();
    await wechat.stop();
    await dropNamespace(namespace);
  }
}

describe('secrets in Redis (issue 11 §5)', () => {
  beforeAll(async () => {
    await requireRedis();
  });

  it('with encryption, KEYS/GET and MONITOR during a login show no session key and no access token', async () => {
    const seen = await exposure(ENCRYPTION);
    expect(seen.sessionKeys[0]).not.toBe(seen.sessionKeys[1]);
    expect(seen.stored).toContain(':user:');
    expect(seen.monitored).toContain('EVALSHA');
    for (const text of [seen.stored, seen.monitored]) {
      for (const key of seen.sessionKeys) for (const form of keyForms(key)) expect(text).not.toContain(form);
      expect(text).not.toContain(seen.accessToken);
      expect(text).not.toContain(ENCRYPTION.keys[0]?.key as string);
    }
  });

  // What the README says about the default: the detector above finds the secrets when they are there.
  it('without encryption, both are there in clear: in the values and in the compare-and-set arguments', async () => {
    const seen = await exposure(undefined);
    for (const key of seen.sessionKeys) {
      expect(seen.monitored).toContain(key);
    }
    expect(seen.stored).toContain(seen.sessionKeys[1]);
    expect(seen.stored).toContain(seen.accessToken);
    expect(seen.monitored).toContain(seen.accessToken);
  });
});
