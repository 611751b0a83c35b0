import { decryptAes128Cbc } from '../core/aes.js';
import { decodeStrictBase64 } from '../core/base64.js';
import { WxDecryptionError, WxMalformedPayloadError } from '../core/errors.js';
import { parseStrictJsonObject } from '../core/json.js';
import type { WxUserEncryptKey } from './mini-program-apis.js';
import type { WxApiClient } from './wx-api-client.js';

/**
 * The body of a request on the encrypted channel: `{ version, ciphertext }`.
 *
 * **The cipher contract** (WeChat leaves it to you; this is the one its constraints point to):
 * AES-128-CBC with PKCS#7 padding; key = base64-decode(`encryptKey`) (16 bytes); iv = the UTF-8
 * bytes of the 16-character `iv` string of the same key (not hex-decoded: that gives only 8
 * bytes); plaintext = the UTF-8 JSON object of the request; `ciphertext` = base64 of the result;
 * `version` = the key's version as `getLatestUserKey` gave it. `MiniProgramClient.encryptForServer`
 * encrypts this way; so must your mini program (e.g. with aes-js).
 *
 * CBC has no integrity check and the iv is fixed per key: equal requests give equal ciphertexts,
 * and a holder of the ciphertext can flip bits. Use the channel to keep data away from eyes on
 * the network, not as proof of who wrote it: the session still authenticates the caller.
 *
 * @public
 */
export interface WxUserEncryptedBody {
  readonly version: number;
  readonly ciphertext: string;
}

/** Base64 text a channel body may hold: 64 KB of request. */
const MAX_CIPHERTEXT_CHARS = 87_384;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `{ version, ciphertext }` from a request body.
 *
 * @throws {@link WxMalformedPayloadError} naming `version` or `ciphertext`
 * @public
 */
export function readUserEncryptedBody(body: unknown): WxUserEncryptedBody {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const version = Object.hasOwn(record, 'version') ? record['version'] : undefined;
  const ciphertext = Object.hasOwn(record, 'ciphertext') ? record['ciphertext'] : undefined;
  if (!Number.isSafeInteger(version) || (version as number) < 0) {
    throw new WxMalformedPayloadError('version', 'must be the version of the user encrypt key');
  }
  if (typeof ciphertext !== 'string' || ciphertext === '') {
    throw new WxMalformedPayloadError('ciphertext', 'is required');
  }
  if (ciphertext.length > MAX_CIPHERTEXT_CHARS) {
    throw new WxMalformedPayloadError('ciphertext', `must be at most ${MAX_CIPHERTEXT_CHARS} characters`);
  }
  if (decodeStrictBase64(ciphertext) === undefined) {
    throw new WxMalformedPayloadError('ciphertext', 'must be canonical base64');
  }
  return { version: version as number, ciphertext };
}

/**
 * Decrypts a channel body with `key` under the cipher contract of {@link WxUserEncryptedBody}:
 * a JSON object, or one {@link WxDecryptionError} whatever went wrong.
 *
 * @public
 */
export function decryptUserEncrypted(
  ciphertext: string,
  key: Pick<WxUserEncryptKey, 'encryptKey' | 'iv'>,
): Record<string, unknown> {
  const bytes = decodeStrictBase64(ciphertext);
  const aesKey = decodeStrictBase64(key.encryptKey);
  const iv = Buffer.from(key.iv, 'utf8');
  if (bytes === undefined || aesKey === undefined || aesKey.length !== 16 || iv.length !== 16) {
    throw new WxDecryptionError();
  }
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = parseStrictJsonObject(utf8.decode(decryptAes128Cbc(bytes, aesKey, iv)));
  } catch {
    throw new WxDecryptionError();
  }
  if (parsed === undefined) throw new WxDecryptionError();
  return parsed;
}

interface CachedKey {
  readonly key: WxUserEncryptKey;
  readonly expiresAt: number;
}

/** Keys kept at once; each lives at most an hour, so this bounds memory, not correctness. */
const MAX_CACHED_KEYS = 10_000;

/**
 * Users' encrypt keys by version, fetched from WeChat (getUserEncryptKey) once per version and
 * kept until they expire. Concurrent requests for a missing version share one WeChat call.
 *
 * @public
 */
export class WxUserEncryptKeys {
  private readonly cache = new Map<string, CachedKey>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The key of `version` for the user, or `undefined` when WeChat lists no live key of that version.
   *
   * @param sessionKey - the user's current session key, which signs the WeChat call
   * @throws what `getUserEncryptKey` throws (87007/87009: the user must log in again; outages)
   */
  async get(
    client: WxApiClient,
    openid: string,
    sessionKey: string,
    version: number,
  ): Promise<WxUserEncryptKey | undefined> {
    const cacheKey = `${client.appId}\n${openid}\n${version}`;
    const hit = this.fresh(cacheKey);
    if (hit !== undefined) return hit;
    const userKey = `${client.appId}\n${openid}`;
    let pending = this.inFlight.get(userKey);
    if (pending === undefined) {
      pending = this.fetch(client, openid, sessionKey).finally(() => this.inFlight.delete(userKey));
      this.inFlight.set(userKey, pending);
    }
    await pending;
    return this.fresh(cacheKey);
  }

  private fresh(cacheKey: string): WxUserEncryptKey | undefined {
    const cached = this.cache.get(cacheKey);
    if (cached === undefined) return undefined;
    if (cached.expiresAt > this.now()) return cached.key;
    this.cache.delete(cacheKey);
    return undefined;
  }

  private async fetch(client: WxApiClient, openid: string, sessionKey: string): Promise<void> {
    const keys = await client.getUserEncryptKey(openid, sessionKey);
    const now = this.now();
    for (const key of keys) {
      if (key.expiresInSeconds <= 0) continue;
      const cacheKey = `${client.appId}\n${openid}\n${key.version}`;
      this.cache.delete(cacheKey);
      while (this.cache.size >= MAX_CACHED_KEYS) {
        const oldest = this.cache.keys().next();
        if (oldest.done === true) break;
        this.cache.delete(oldest.value);
      }
      this.cache.set(cacheKey, { key, expiresAt: now + key.expiresInSeconds * 1000 });
    }
  }
}
