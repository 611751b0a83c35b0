import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

/**
 * One key of the Redis store's envelope encryption.
 *
 * @public
 */
export interface WxStoreEncryptionKey {
  /** Names the key in every value it seals, for rotation: 1-32 letters, digits, `_` or `-`. */
  readonly id: string;
  /** The 32-byte AES-256 key: the bytes, or their base64. Keep it out of Redis and the logs. */
  readonly key: Uint8Array | string;
}

/**
 * Envelope encryption of every secret {@link RedisWxSessionStore} writes: users' session keys
 * (current and previous) and the fleet's access tokens, sealed with AES-256-GCM under keys the
 * application holds, bound to the Redis key they are stored under.
 *
 * @public
 */
export interface WxStoreEncryptionOptions {
  /**
   * The first key seals every write; every key listed opens what it sealed. To rotate, list the
   * new key second everywhere, then first, and drop the old one once every value it sealed has
   * expired (the session TTL). Ids must be unique.
   */
  readonly keys: readonly WxStoreEncryptionKey[];
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const STORE = 'RedisWxSessionStore';

/**
 * A sealed value could not be opened: a key id no longer listed, or a value changed in Redis.
 * Never names the value or a key.
 *
 * @internal
 */
export class UnopenableSecretError extends Error {
  constructor() {
    super('a sealed value in Redis could not be opened: an unlisted key id, or a changed value');
  }
}

/**
 * Seals and opens the secrets the Redis store writes. A sealed value is
 * `<key id>.<base64url(iv)>.<base64url(ciphertext + tag)>`, authenticated with the Redis key name
 * (and for users' keys, their version) as additional data, so that a value moved to another key
 * or given another version does not open.
 *
 * @internal
 */
export class SecretSeal {
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly writeId: string;

  /** @throws TypeError or RangeError naming the option (a key id, an index), never a key */
  constructor(options: WxStoreEncryptionOptions) {
    if (typeof options !== 'object' || options === null || !Array.isArray(options.keys)) {
      throw new TypeError(`${STORE}: encryption must be { keys: [{ id, key }, ...] }`);
    }
    if (options.keys.length === 0)
      throw new RangeError(`${STORE}: encryption.keys must list at least one key`);
    const keys = new Map<string, KeyObject>();
    options.keys.forEach((entry: WxStoreEncryptionKey, index) => {
      const id: unknown = entry?.id;
      if (typeof id !== 'string' || !KEY_ID.test(id)) {
        throw new TypeError(`${STORE}: encryption.keys[${index}].id must be 1-32 letters, digits, _ or -`);
      }
      if (keys.has(id)) throw new RangeError(`${STORE}: encryption key id ${id} is listed twice`);
      keys.set(id, createSecretKey(keyBytes(entry.key, id)));
    });
    this.keys = keys;
    this.writeId = (options.keys[0] as WxStoreEncryptionKey).id;
  }

  /** Seals `plaintext` under the first key, bound to `context`. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.writeId) as KeyObject, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${this.writeId}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /**
   * Opens a value {@link seal} made for `context`.
   *
   * @throws {@link UnopenableSecretError} when its key is not listed or it does not authenticate
   */
  open(sealed: string, context: string): string {
    const [id, ivText, bodyText, extra] = sealed.split('.');
    const key = id === undefined ? undefined : this.keys.get(id);
    if (key === undefined || ivText === undefined || bodyText === undefined || extra !== undefined) {
      throw new UnopenableSecretError();
    }
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new UnopenableSecretError();
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new UnopenableSecretError();
    }
  }
}

/** The 32 bytes of a key given as bytes or strict base64; the message names the id only. */
function keyBytes(key: unknown, id: string): Buffer {
  let bytes: Buffer | undefined;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string') {
    const decoded = Buffer.from(key, 'base64');
    // Strict: the text must be the canonical base64 of what it decodes to.
    if (decoded.toString('base64') === key) bytes = decoded;
  }
  if (bytes === undefined || bytes.length !== 32) {
    throw new RangeError(`${STORE}: encryption key ${id} must be 32 bytes (or their base64)`);
  }
  return bytes;
}
