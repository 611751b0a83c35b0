import { randomBytes } from 'node:crypto';
import {
  MemoryWxSessionStore,
  WxSessionStoreUnavailableError,
  type WxSessionService,
  type WxSessionWithKeys,
} from '../../../lib/index.js';
import { createSessionKey, encryptOpenData, signRawData } from '../../../lib/testing/index.js';
import {
  APP_ID,
  flipBit,
  OTHER_APP_ID,
  rawDataOf,
  userInfoPayload,
  watermark,
} from '../../support/payloads.js';

/** The four envelope fields, as a mini program sends them. */
export interface Envelope {
  rawData?: string;
  signature?: string;
  encryptedData?: string;
  iv?: string;
}

/** A logged-in user of one test: its own openid and key, so no two cases share a key budget. */
export interface TestUser {
  readonly openid: string;
  readonly sessionKey: string;
  readonly token: string;
  /** A fresh user-info envelope (its own watermark, so never a replay of another). */
  envelope(payload?: Record<string, unknown>, key?: string): Required<Envelope>;
}

/** Creates a session for a new user. */
export async function newUser(sessions: WxSessionService): Promise<TestUser> {
  const openid = `o-ctx-${randomBytes(9).toString('base64url')}`;
  const sessionKey = createSessionKey();
  const token = await sessions.create({ openid, unionid: `u-${openid}`, appId: APP_ID, sessionKey });
  let serial = 0;
  return {
    openid,
    sessionKey,
    token,
    envelope(payload = userInfoPayload(openid), key = sessionKey) {
      // A different city per call keeps every payload distinct within the same second.
      const distinct = { ...payload, city: `${String(payload.city ?? 'Guangzhou')}-${(serial += 1)}` };
      const rawData = rawDataOf(distinct);
      return { rawData, signature: signRawData(rawData, key), ...encryptOpenData(distinct, key) };
    },
  };
}

/**
 * Envelopes only the session key can tell are wrong, each for its own user: every one must get
 * the same refusal as the others and as a replay.
 */
export const KEY_DEPENDENT_FAILURES: ReadonlyArray<readonly [string, (user: TestUser) => object]> = [
  [
    'a signature over other rawData',
    (u) => ({ ...u.envelope(), signature: signRawData('{"nickName":"Eve"}', u.sessionKey) }),
  ],
  ['data encrypted with another key', (u) => u.envelope(userInfoPayload(u.openid), createSessionKey())],
  [
    'one flipped ciphertext bit',
    (u) => {
      const envelope = u.envelope();
      return { ...envelope, encryptedData: flipBit(envelope.encryptedData, 77) };
    },
  ],
  [
    "another user's payload",
    (u) => ({ ...u.envelope(), ...encryptOpenData(userInfoPayload('o-someone-else'), u.sessionKey) }),
  ],
  [
    'a stale watermark',
    (u) => u.envelope({ ...userInfoPayload(u.openid), watermark: watermark(APP_ID, 86_400) }),
  ],
  [
    "another mini program's watermark",
    (u) => u.envelope({ ...userInfoPayload(u.openid), watermark: watermark(OTHER_APP_ID) }),
  ],
];

/** A memory store whose session reads fail as a Redis outage would, while `down` is set. */
export class OutageStore extends MemoryWxSessionStore {
  down = false;

  override getSessionWithKeys(token: string): Promise<WxSessionWithKeys | undefined> {
    if (this.down) return Promise.reject(new WxSessionStoreUnavailableError('timeout', 'get', 2));
    return super.getSessionWithKeys(token);
  }
}
