import type { INestApplication } from '@nestjs/common';
import { WX_OPEN_DATA_REJECTED_BODY, WX_SESSION_REQUIRED_BODY, WxSessionService } from '../../lib/index.js';
import { createSessionKey } from '../../lib/testing/index.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { APP_ID, userInfoPayload } from '../support/payloads.js';
import {
  graphqlClient,
  startGraphQLApp,
  type GraphQLDriverName,
  type GraphQLReply,
} from './support/graphql-app.js';
import { KEY_DEPENDENT_FAILURES, newUser, OutageStore, type TestUser } from './support/users.js';

const PROFILE = `mutation ($input: EnvelopeInput!) {
  profile(input: $input) { openId city isDto session { openid unionid appId } }
}`;
const PROFILE_FROM_DATA = `mutation ($data: AnyJson) {
  profileFromData(data: $data) { openId city isDto }
}`;
const ME = '{ me { openid unionid appId } }';

const DRIVERS: GraphQLDriverName[] = ['apollo', 'mercurius'];

describe.each(DRIVERS)('GraphQL resolvers (%s)', (driver) => {
  const logger = new CapturingLogger();
  const store = new OutageStore();
  let app: INestApplication;
  let sessions: WxSessionService;
  let gql: ReturnType<typeof graphqlClient>;
  let user: TestUser;

  beforeAll(async () => {
    app = await startGraphQLApp(driver, logger, { sessionStore: store });
    sessions = app.get(WxSessionService);
    gql = graphqlClient(app);
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(async () => {
    user = await newUser(sessions);
  });

  /** The one error of a refused field, with the field's data null. */
  const refusal = (reply: GraphQLReply, field: string) => {
    expect(reply.errors).toHaveLength(1);
    const [error] = reply.errors;
    expect(error?.path).toEqual([field]);
    expect(reply.data?.[field] ?? null).toBeNull();
    return error!;
  };

  /** The error as a client can compare it: everything but where in the document it happened. */
  const comparable = (reply: GraphQLReply) =>
    reply.errors.map(({ message, extensions }) => {
      const { stacktrace: _stacktrace, ...rest } = extensions ?? {};
      return { message, extensions: rest };
    });

  it('verifies the envelope of the `input` argument and hands the resolver the DTO and session', async () => {
    const reply = await gql(PROFILE, { input: user.envelope() }, user.token);
    expect(reply.errors).toEqual([]);
    expect(reply.data?.profile).toEqual({
      openId: user.openid,
      city: expect.stringMatching(/^Guangzhou-/),
      isDto: true,
      session: { openid: user.openid, unionid: `u-${user.openid}`, appId: APP_ID },
    });
  });

  it('reads the envelope from the argument the route names (`envelopeArg`)', async () => {
    const reply = await gql(PROFILE_FROM_DATA, { data: user.envelope() }, user.token);
    expect(reply.errors).toEqual([]);
    expect(reply.data?.profileFromData).toMatchObject({ openId: user.openid, isDto: true });
  });

  it('@WxSession() in a query that carries no envelope', async () => {
    const reply = await gql(ME, {}, user.token);
    expect(reply.errors).toEqual([]);
    expect(reply.data?.me).toEqual({ openid: user.openid, unionid: `u-${user.openid}`, appId: APP_ID });
  });

  it('two verified fields of one query each get their own payload', async () => {
    const first = user.envelope({ ...userInfoPayload(user.openid), city: 'Shenzhen' });
    const second = user.envelope({ ...userInfoPayload(user.openid), city: 'Hangzhou' });
    const reply = await gql(
      `query ($a: EnvelopeInput!, $b: EnvelopeInput!) {
        a: profileQuery(input: $a) { city }
        b: profileQuery(input: $b) { city }
      }`,
      { a: first, b: second },
      user.token,
    );
    expect(reply.errors).toEqual([]);
    expect(reply.data).toEqual({
      a: { city: expect.stringMatching(/^Shenzhen-/) },
      b: { city: expect.stringMatching(/^Hangzhou-/) },
    });
  });

  describe('a missing or unknown session is WX_SESSION_REQUIRED', () => {
    it.each([
      ['no Authorization header', undefined],
      ['an unknown token', 'not-a-session-token'],
    ])('%s', async (_name, token) => {
      const reply = await gql(PROFILE, { input: user.envelope() }, token);
      const error = refusal(reply, 'profile');
      expect(error.message).toBe(WX_SESSION_REQUIRED_BODY.message);
      expect(error.extensions).toMatchObject({
        code: 'WX_SESSION_REQUIRED',
        statusCode: 401,
        error: 'Unauthorized',
      });
    });
  });

  it('every key-dependent failure is one identical WX_OPEN_DATA_REJECTED error', async () => {
    const replies = await Promise.all(
      KEY_DEPENDENT_FAILURES.map(async ([, make]) => {
        const u = await newUser(sessions);
        return gql(PROFILE, { input: make(u) }, u.token);
      }),
    );
    const seen = replies.map((reply) => {
      const error = refusal(reply, 'profile');
      expect(error.extensions).toMatchObject({ code: 'WX_OPEN_DATA_REJECTED', statusCode: 401 });
      return JSON.stringify(comparable(reply));
    });
    expect(new Set(seen).size).toBe(1);
    expect(JSON.parse(seen[0]!)).toEqual([
      {
        message: WX_OPEN_DATA_REJECTED_BODY.message,
        extensions: {
          code: 'WX_OPEN_DATA_REJECTED',
          statusCode: 401,
          error: 'Unauthorized',
          message: WX_OPEN_DATA_REJECTED_BODY.message,
        },
      },
    ]);
    // ...and the same error as a replay of an accepted payload.
    const envelope = user.envelope();
    expect((await gql(PROFILE, { input: envelope }, user.token)).errors).toEqual([]);
    const replay = await gql(PROFILE, { input: envelope }, user.token);
    expect(JSON.stringify(comparable(replay))).toBe(seen[0]);
  });

  describe('a malformed envelope is WX_MALFORMED_PAYLOAD naming the field, never a TypeError', () => {
    it('a typed input missing its iv', async () => {
      const { iv: _iv, ...input } = user.envelope();
      const error = refusal(await gql(PROFILE, { input }, user.token), 'profile');
      expect(error.extensions).toMatchObject({
        code: 'WX_MALFORMED_PAYLOAD',
        statusCode: 400,
        error: 'Bad Request',
        field: 'iv',
      });
    });

    it('a typed input without the encrypted half on a route that needs it', async () => {
      const { rawData, signature } = user.envelope();
      const error = refusal(await gql(PROFILE, { input: { rawData, signature } }, user.token), 'profile');
      expect(error.extensions).toMatchObject({ code: 'WX_MALFORMED_PAYLOAD', field: 'encryptedData' });
    });

    it.each([
      ['a string', 'rawData'],
      ['a number', 42],
      ['a list', [1, 2]],
      ['null', null],
    ])('an argument that is %s', async (_name, data) => {
      const reply = await gql(PROFILE_FROM_DATA, { data }, user.token);
      const error = refusal(reply, 'profileFromData');
      expect(error.extensions).toMatchObject({ code: 'WX_MALFORMED_PAYLOAD', statusCode: 400 });
      expect(reply.text).not.toMatch(/TypeError|Cannot read/);
    });

    it('an input with a field that is not part of the envelope', async () => {
      const reply = await gql(PROFILE_FROM_DATA, { data: { ...user.envelope(), extra: 1 } }, user.token);
      const error = refusal(reply, 'profileFromData');
      expect(error.extensions).toMatchObject({ code: 'WX_MALFORMED_PAYLOAD', field: 'extra' });
    });
  });

  it('a session store that cannot answer is WX_SESSION_STORE_UNAVAILABLE, never a pass', async () => {
    store.down = true;
    try {
      const reply = await gql(PROFILE, { input: user.envelope() }, user.token);
      const error = refusal(reply, 'profile');
      expect(error.extensions).toMatchObject({
        code: 'WX_SESSION_STORE_UNAVAILABLE',
        statusCode: 503,
        error: 'Service Unavailable',
        retryAfterSeconds: 2,
      });
    } finally {
      store.down = false;
    }
    expect((await gql(PROFILE, { input: user.envelope() }, user.token)).errors).toEqual([]);
  });

  it('no answer and no log line carries the session key or the token', async () => {
    const replies = await Promise.all([
      gql(PROFILE, { input: user.envelope(userInfoPayload(user.openid), createSessionKey()) }, user.token),
      gql(PROFILE_FROM_DATA, { data: 'junk' }, user.token),
    ]);
    for (const reply of replies) {
      expect(reply.text).not.toContain(user.sessionKey);
      expect(reply.text).not.toContain(user.token);
    }
    expect(logger.lines.join('\n')).not.toContain(user.sessionKey);
  });
});
