import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parseJsonObject } from '../../core/json.js';
import { errorAnswer, type FakeAnswer } from './fake-wechat-answers.js';

/**
 * The API security mode ("API 安全") of one mini program as the fake WeChat holds it: the same
 * symmetric key as the client, the application's public key, and the platform key whose
 * certificate the client verifies answers with.
 *
 * @public
 */
export interface FakeWeChatApiSecurity {
  /** Base64 of 32 bytes, as the console shows. */
  symmetricKey: string;
  symmetricKeySn: string;
  /** The application public key registered in the console (PEM or a KeyObject). */
  appPublicKey: string | KeyObject;
  /** The platform private key answers are signed with (PEM or a KeyObject). */
  platformPrivateKey: string | KeyObject;
  /** The number of the platform certificate (`Wechatmp-Serial`). */
  platformCertificateSn: string;
  /**
   * During a certificate rotation: the outgoing platform key and number, which also sign every
   * answer (`Wechatmp-Serial-Deprecated`, `Wechatmp-Signature-Deprecated`).
   */
  deprecatedPlatform?: { privateKey: string | KeyObject; sn: string };
}

/**
 * How the fake spoils the next answer to a protected call, for tests of the client's checks:
 * `bad-signature` (a signature byte flipped), `wrong-serial` (signed, but under an unknown
 * certificate number), `stale-timestamp` (well signed and encrypted, 301 s old),
 * `tampered-tag` (a GCM tag bit flipped, the body then signed as sent), `unsigned` (the plain
 * answer, no Wechatmp-* headers), `mismatched-timestamp` (`_timestamp` is not the header's),
 * `wrong-appid` (`_appid` names another app).
 *
 * @public
 */
export type FakeAnswerTampering =
  | 'bad-signature'
  | 'wrong-serial'
  | 'stale-timestamp'
  | 'tampered-tag'
  | 'unsigned'
  | 'mismatched-timestamp'
  | 'wrong-appid';

/** The security layer's refusals, in WeChat's words. */
const REFUSALS = {
  missingTimestamp: [40231, 'API_Missing_Wechatmp_Timestamp'],
  missingSignature: [40232, 'API_Missing_Wechatmp_Signature'],
  missingAppid: [40233, 'API_Missing_Wechatmp_Appid'],
  invalidSignature: [40234, 'invalid signature'],
  invalidEncrypt: [40235, 'API_Invalid_Encrypt'],
  invalidAppid: [40236, 'API_Invalid_Wechatmp_Appid'],
  appidMismatch: [40237, 'API_Wechatmp_Appid_Not_Match_AccessToken'],
  expired: [40240, 'API_Expired_Data'],
} as const satisfies Record<string, readonly [number, string]>;

/** The fake's request freshness window; WeChat's own is not documented. */
const MAX_SKEW_SECONDS = 300;
const SECURITY_FIELDS = ['_n', '_appid', '_timestamp'];

interface AppSecurity {
  readonly key: Buffer;
  readonly sn: string;
  readonly appPublicKey: KeyObject;
  readonly platformKey: KeyObject;
  readonly platformSn: string;
  readonly deprecated: { readonly key: KeyObject; readonly sn: string } | undefined;
}

/** One protected request, opened: its parameters and how to seal the answer. */
export interface FakeOpenedRequest {
  /** The decrypted parameters without `_n`, `_appid`, `_timestamp`, as JSON text. */
  readonly plaintext: string;
  readonly seal: (answer: FakeAnswer, tampering: FakeAnswerTampering | undefined) => FakeAnswer;
}

/**
 * The API security layer of the fake WeChat: checks protected requests as WeChat does, with its
 * error codes, and encrypts and signs the answers. Its crypto is written here with node:crypto
 * rather than taken from the library, so that a bug there cannot hide in both.
 *
 * @internal
 */
export class FakeApiSecurityGate {
  private readonly apps = new Map<string, AppSecurity>();

  constructor(
    apps: readonly { appId: string; apiSecurity?: FakeWeChatApiSecurity }[],
    private readonly now: () => number,
  ) {
    for (const { appId, apiSecurity } of apps) {
      if (apiSecurity === undefined) continue;
      const key = Buffer.from(apiSecurity.symmetricKey, 'base64');
      if (key.length !== 32)
        throw new Error(`FakeWeChatServer: ${appId} apiSecurity.symmetricKey must be 32 bytes`);
      this.apps.set(appId, {
        key,
        sn: apiSecurity.symmetricKeySn,
        appPublicKey: publicKeyOf(apiSecurity.appPublicKey),
        platformKey: privateKeyOf(apiSecurity.platformPrivateKey),
        platformSn: apiSecurity.platformCertificateSn,
        deprecated:
          apiSecurity.deprecatedPlatform === undefined
            ? undefined
            : {
                key: privateKeyOf(apiSecurity.deprecatedPlatform.privateKey),
                sn: apiSecurity.deprecatedPlatform.sn,
              },
      });
    }
  }

  /** Whether `appId` is in the mode. */
  protects(appId: string | undefined): boolean {
    return appId !== undefined && this.apps.has(appId);
  }

  /**
   * Checks a protected request of an app in the mode.
   *
   * @param tokenAppId - the app the access token belongs to, when the token is known
   */
  open(
    urlPath: string,
    headers: IncomingHttpHeaders,
    body: string,
    tokenAppId: string | undefined,
  ): FakeOpenedRequest | { answer: FakeAnswer } {
    const appId = headerOf(headers, 'wechatmp-appid');
    if (appId === undefined) return refuse('missingAppid');
    const app = this.apps.get(appId);
    if (app === undefined) return refuse('invalidAppid');
    if (tokenAppId !== undefined && tokenAppId !== appId) return refuse('appidMismatch');
    const timestampText = headerOf(headers, 'wechatmp-timestamp');
    if (timestampText === undefined) return refuse('missingTimestamp');
    const signature = headerOf(headers, 'wechatmp-signature');
    if (signature === undefined) return refuse('missingSignature');
    const timestamp = Number(timestampText);
    if (!/^[0-9]{1,12}$/.test(timestampText) || Math.abs(this.nowSeconds() - timestamp) > MAX_SKEW_SECONDS) {
      return refuse('expired');
    }
    const signed = Buffer.from(`${urlPath}\n${appId}\n${timestampText}\n${body}`, 'utf8');
    const signatureOk = verify(
      'sha256',
      signed,
      { key: app.appPublicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(signature, 'base64'),
    );
    if (!signatureOk) return refuse('invalidSignature');
    const params = decrypt(app, body, `${urlPath}|${appId}|${timestampText}|${app.sn}`);
    if (params === undefined || params['_appid'] !== appId || params['_timestamp'] !== timestamp) {
      return refuse('invalidEncrypt');
    }
    for (const field of SECURITY_FIELDS) delete params[field];
    return {
      plaintext: JSON.stringify(params),
      seal: (answer, tampering) => this.seal(app, appId, urlPath, answer, tampering),
    };
  }

  private seal(
    app: AppSecurity,
    appId: string,
    urlPath: string,
    answer: FakeAnswer,
    tampering: FakeAnswerTampering | undefined,
  ): FakeAnswer {
    if (tampering === 'unsigned') return answer;
    const timestamp = this.nowSeconds() - (tampering === 'stale-timestamp' ? MAX_SKEW_SECONDS + 1 : 0);
    const inner = JSON.parse(answer.body) as Record<string, unknown>;
    const plaintext = JSON.stringify({
      _n: randomBytes(16).toString('base64').replace(/=+$/, ''),
      _appid: tampering === 'wrong-appid' ? 'wx0000000000000000' : appId,
      _timestamp: tampering === 'mismatched-timestamp' ? timestamp - 1 : timestamp,
      ...inner,
    });
    const envelope = encryptFakePayload(
      app.key,
      randomBytes(12),
      `${urlPath}|${appId}|${timestamp}|${app.sn}`,
      plaintext,
    );
    if (tampering === 'tampered-tag') {
      const tag = Buffer.from(envelope.authtag, 'base64');
      tag[0] = (tag[0] as number) ^ 0x01;
      envelope.authtag = tag.toString('base64');
    }
    const body = JSON.stringify(envelope);
    const signed = `${urlPath}\n${appId}\n${timestamp}\n${body}`;
    const headers: Record<string, string> = {
      'Wechatmp-Appid': appId,
      'Wechatmp-TimeStamp': String(timestamp),
      'Wechatmp-Serial': tampering === 'wrong-serial' ? randomBytes(16).toString('hex') : app.platformSn,
      'Wechatmp-Signature': signFake(app.platformKey, signed, tampering === 'bad-signature'),
    };
    if (app.deprecated !== undefined && tampering !== 'wrong-serial') {
      headers['Wechatmp-Serial-Deprecated'] = app.deprecated.sn;
      headers['Wechatmp-Signature-Deprecated'] = signFake(
        app.deprecated.key,
        signed,
        tampering === 'bad-signature',
      );
    }
    return { status: answer.status, contentType: answer.contentType, body, headers };
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/**
 * AES-256-GCM as WeChat's guide describes it, for the fake's answers (and its known-answer test).
 *
 * @internal
 */
export function encryptFakePayload(
  key: Buffer,
  iv: Buffer,
  aad: string,
  plaintext: string,
): { iv: string; data: string; authtag: string } {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    data: data.toString('base64'),
    authtag: cipher.getAuthTag().toString('base64'),
  };
}

function decrypt(app: AppSecurity, body: string, aad: string): Record<string, unknown> | undefined {
  try {
    const envelope = JSON.parse(body) as Record<string, unknown>;
    const { iv, data, authtag } = envelope;
    if (typeof iv !== 'string' || typeof data !== 'string' || typeof authtag !== 'string') return undefined;
    const decipher = createDecipheriv('aes-256-gcm', app.key, Buffer.from(iv, 'base64'), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(authtag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString(
      'utf8',
    );
    return parseJsonObject(text);
  } catch {
    return undefined;
  }
}

function signFake(key: KeyObject, text: string, spoil: boolean): string {
  const signature = sign('sha256', Buffer.from(text, 'utf8'), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  });
  if (spoil) signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 0x01;
  return signature.toString('base64');
}

function publicKeyOf(key: string | KeyObject): KeyObject {
  return typeof key !== 'string' && key.type === 'public' ? key : createPublicKey(key);
}

function privateKeyOf(key: string | KeyObject): KeyObject {
  return typeof key === 'string' ? createPrivateKey(key) : key;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function refuse(kind: keyof typeof REFUSALS): { answer: FakeAnswer } {
  const [errcode, errmsg] = REFUSALS[kind];
  return { answer: errorAnswer(errcode, errmsg) };
}
