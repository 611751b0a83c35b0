import type { INestApplication } from '@nestjs/common';
import { WX_OPEN_DATA_REJECTED_BODY, WX_SESSION_REQUIRED_BODY, WxSessionService } from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { APP_ID, userInfoPayload } from '../support/payloads.js';
import { KEY_DEPENDENT_FAILURES, newUser, OutageStore, type TestUser } from './support/users.js';
import { connectClient, startWsApp, type WsClient, type WsPlatformName } from './support/ws-app.js';

const REJECTED = {
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_OPEN_DATA_REJECTED',
  message: WX_OPEN_DATA_REJECTED_BODY.message,
};
const SESSION_REQUIRED = {
  statusCode: 401,
  error: 'Unauthorized',
  code: 'WX_SESSION_REQUIRED',
  message: WX_SESSION_REQUIRED_BODY.message,
};

const PLATFORMS: WsPlatformName[] = ['ws', 'socket.io'];

describe.each(PLATFORMS)('WebSocket gateway (%s)', (platform) => {
  const logger = new CapturingLogger();
  const store = new OutageStore();
  const clients: WsClient[] = [];
  let app: INestApplication;
  let url: string;
  let sessions: WxSessionService;
  let user: TestUser;
  let client: WsClient;

  const connect = async (
    ...args: Parameters<typeof connectClient> extends [unknown, unknown, ...infer R] ? R : never
  ) => {
    const connected = await connectClient(platform, url, ...args);
    clients.push(connected);
    return connected;
  };

  beforeAll(async () => {
    ({ app, url } = await startWsApp(platform, logger, { sessionStore: store }));
    sessions = app.get(WxSessionService);
  });

  afterAll(async () => {
    for (const open of clients) open.close();
    await app.close();
  });

  beforeEach(async () => {
    user = await newUser(sessions);
    client = await connect(user.token);
  });

  it('verifies the message body with the handshake token and hands over the DTO and session', async () => {
    const reply = await client.request('profile', user.envelope());
    expect(reply).toEqual({
      event: 'profile',
      data: {
        openId: user.openid,
        city: expect.stringMatching(/^Guangzhou-/),
        isDto: true,
        session: { openid: user.openid, unionid: `u-${user.openid}`, appId: APP_ID },
      },
    });
  });

  it('@WxSession() on a message without an envelope', async () => {
    expect(await client.request('me', {})).toEqual({
      event: 'me',
      data: { openid: user.openid, unionid: `u-${user.openid}`, appId: APP_ID },
    });
  });

  if (platform === 'socket.io') {
    it('takes the token from the Authorization header of the handshake too', async () => {
      const viaHeader = await connect(user.token, 'header');
      expect(await viaHeader.request('me', {})).toMatchObject({ event: 'me', data: { openid: user.openid } });
    });
  }

  it('a connection without a token or with an unknown one gets WX_SESSION_REQUIRED', async () => {
    const anonymous = await connect(undefined);
    expect(await anonymous.request('profile', user.envelope())).toEqual({
      event: 'exception',
      data: SESSION_REQUIRED,
    });
    const unknown = await connect('not-a-session-token');
    expect(await unknown.request('me', {})).toEqual({ event: 'exception', data: SESSION_REQUIRED });
    // The gateway keeps serving the connection.
    expect(await anonymous.request('ping', {})).toEqual({ event: 'pong', data: 'pong' });
  });

  it('every key-dependent failure is one identical exception, and the connection stays usable', async () => {
    for (const [, make] of KEY_DEPENDENT_FAILURES) {
      const u = await newUser(sessions);
      const own = await connect(u.token);
      expect(await own.request('profile', make(u))).toEqual({ event: 'exception', data: REJECTED });
      expect(await own.request('profile', u.envelope())).toMatchObject({ event: 'profile' });
    }
    const envelope = user.envelope();
    expect(await client.request('profile', envelope)).toMatchObject({ event: 'profile' });
    expect(await client.request('profile', envelope)).toEqual({ event: 'exception', data: REJECTED });
  });

  describe('a malformed body is WX_MALFORMED_PAYLOAD naming the field, never a TypeError', () => {
    it.each([
      ['a string', 'rawData'],
      ['a number', 42],
      ['a list', [1, 2]],
    ])('a body that is %s', async (_name, body) => {
      const reply = await client.request('profile', body);
      expect(reply.event).toBe('exception');
      expect(reply.data).toMatchObject({
        code: 'WX_MALFORMED_PAYLOAD',
        statusCode: 400,
        error: 'Bad Request',
      });
    });

    it('a body missing its iv, then one with a stray field', async () => {
      const { iv: _iv, ...missing } = user.envelope();
      expect(await client.request('profile', missing)).toEqual({
        event: 'exception',
        data: expect.objectContaining({ code: 'WX_MALFORMED_PAYLOAD', field: 'iv' }),
      });
      expect(await client.request('profile', { ...user.envelope(), extra: true })).toEqual({
        event: 'exception',
        data: expect.objectContaining({ code: 'WX_MALFORMED_PAYLOAD', field: 'extra' }),
      });
      expect(await client.request('profile', user.envelope())).toMatchObject({ event: 'profile' });
    });
  });

  it('a session store that cannot answer is WX_SESSION_STORE_UNAVAILABLE, never a pass', async () => {
    store.down = true;
    try {
      expect(await client.request('profile', user.envelope())).toEqual({
        event: 'exception',
        data: {
          statusCode: 503,
          error: 'Service Unavailable',
          code: 'WX_SESSION_STORE_UNAVAILABLE',
          message: 'Session store unavailable, retry shortly',
          retryAfterSeconds: 2,
        },
      });
    } finally {
      store.down = false;
    }
    expect(await client.request('profile', user.envelope())).toMatchObject({ event: 'profile' });
  });

  it('no frame and no log line carries the session key', async () => {
    await client.request('profile', user.envelope(userInfoPayload(user.openid), createSessionKey()));
    await client.request('profile', 'junk');
    expect(client.received.join('\n')).not.toContain(user.sessionKey);
    expect(logger.lines.join('\n')).not.toContain(user.sessionKey);
  });
});
