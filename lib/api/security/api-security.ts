import { randomBytes, randomInt } from 'node:crypto';
import { WxApiAnswerRejectedError, WxApiSecurityRefusedError, type WxApiOperation } from '../errors.js';
import type { WxApiRequest, WxExchangeLayer, WxJsonObject, WxSealedRequest } from '../http-exchange.js';
import {
  API_SECURITY_IV_BYTES,
  apiSecurityAad,
  apiSecuritySignedText,
  openApiPayload,
  sealApiPayload,
  signApiText,
  verifyApiText,
} from './api-security-crypto.js';
import type { ResolvedWxApiSecurity } from './api-security-options.js';
import { parseJsonObject } from '../../core/json.js';

/** How far an answer's timestamp may be from the local clock, as WeChat's own sample checks. */
export const API_SECURITY_MAX_SKEW_SECONDS = 300;

/** The fields the mode adds to both plaintexts; dropped from answers. */
const SECURITY_FIELDS = new Set(['_n', '_appid', '_timestamp']);

const HEADERS_MISSING =
  'the API security mode is on in the console, so configure apiSecurity (with this endpoint in its endpoints), ' +
  'or something between this server and WeChat strips the Wechatmp-* headers';

/**
 * What to fix for each refusal of WeChat's security layer (its guide, section 五).
 *
 * @internal
 */
export const API_SECURITY_REFUSALS: ReadonlyMap<number, string> = new Map([
  [40230, `Wechatmp-Serial missing: ${HEADERS_MISSING}`],
  [40231, `Wechatmp-TimeStamp missing: ${HEADERS_MISSING}`],
  [40232, `Wechatmp-Signature missing: ${HEADERS_MISSING}`],
  [40233, `Wechatmp-Appid missing: ${HEADERS_MISSING}`],
  [
    40234,
    'signature invalid: privateKey/privateKeySn are not the key pair registered in the console (API安全)',
  ],
  [40235, 'encryption invalid: symmetricKey/symmetricKeySn are not the console’s current symmetric key'],
  [40236, 'Wechatmp-Appid invalid: check appId'],
  [40237, 'Wechatmp-Appid does not match the access token: the token belongs to another mini program'],
  [40238, 'no symmetric key is configured in the console: set one under API安全, or turn apiSecurity off'],
  [40239, 'no public key is configured in the console: register the application public key under API安全'],
  [40240, 'timestamp expired: this server’s clock is off, synchronise it (NTP)'],
]);

/** The parts of one protected request, for {@link sealApiRequest}. */
export interface ApiRequestToSeal {
  readonly security: ResolvedWxApiSecurity;
  readonly appId: string;
  /** The requested URL without its query. */
  readonly urlPath: string;
  readonly timestamp: number;
  /** `_n`: a random base64 string. */
  readonly nonce: string;
  /** 12 random bytes. */
  readonly iv: Buffer;
  /** The request's parameters (URL parameters but access_token, then the body's). */
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * Encrypts and signs one request: the body to send, serialised once (the signature covers
 * exactly these bytes), and the headers.
 *
 * @internal
 */
export function sealApiRequest(input: ApiRequestToSeal): { body: string; headers: Record<string, string> } {
  const { security, appId, urlPath, timestamp } = input;
  const plaintext = Object.fromEntries([
    ['_n', input.nonce],
    ['_appid', appId],
    ['_timestamp', timestamp],
    ...Object.entries(input.params).filter(([name]) => !SECURITY_FIELDS.has(name)),
  ]);
  const aad = apiSecurityAad(urlPath, appId, timestamp, security.symmetricKeySn);
  const envelope = sealApiPayload(security.symmetricKey, input.iv, aad, JSON.stringify(plaintext));
  const body = JSON.stringify({ iv: envelope.iv, data: envelope.data, authtag: envelope.authtag });
  return {
    body,
    headers: {
      'Wechatmp-Appid': appId,
      'Wechatmp-TimeStamp': String(timestamp),
      'Wechatmp-Signature': signApiText(
        security.privateKey,
        apiSecuritySignedText(urlPath, appId, timestamp, body),
      ),
      'Wechatmp-Serial': security.privateKeySn,
    },
  };
}

/** One answer to a protected request, for {@link openApiAnswer}. */
export interface ApiAnswerToOpen {
  readonly security: ResolvedWxApiSecurity;
  readonly operation: WxApiOperation;
  readonly appId: string;
  readonly urlPath: string;
  /** Reads an answer header (case-insensitive), `undefined` when absent. */
  readonly header: (name: string) => string | undefined;
  readonly body: string;
  /** The local clock in seconds. */
  readonly nowSeconds: number;
  /** Called with the certificate number when only the deprecated signature verified. */
  readonly onDeprecatedSerial: (sn: string) => void;
}

/**
 * Verifies and decrypts one answer; returns WeChat's plain answer (without `_n`, `_appid`,
 * `_timestamp`). An unsigned answer is accepted only as an error (`errcode` and `errmsg`, nothing
 * else kept); WeChat's security-layer refusals (40230 to 40240) become
 * {@link WxApiSecurityRefusedError}.
 *
 * @throws {@link WxApiAnswerRejectedError} naming the check that failed
 * @internal
 */
export function openApiAnswer(input: ApiAnswerToOpen): WxJsonObject {
  const { security, operation, appId, urlPath, header } = input;
  const reject = (reason: ConstructorParameters<typeof WxApiAnswerRejectedError>[1]): never => {
    throw new WxApiAnswerRejectedError(operation, reason);
  };
  const signature = header('wechatmp-signature');
  const deprecatedSignature = header('wechatmp-signature-deprecated');
  if (signature === undefined && deprecatedSignature === undefined) return unsignedAnswer(input);
  const serial = header('wechatmp-serial');
  const deprecatedSerial = header('wechatmp-serial-deprecated');
  let key = serial === undefined || signature === undefined ? undefined : security.platformKeys.get(serial);
  let chosen = signature;
  if (key === undefined && deprecatedSerial !== undefined && deprecatedSignature !== undefined) {
    key = security.platformKeys.get(deprecatedSerial);
    chosen = deprecatedSignature;
    if (key !== undefined) input.onDeprecatedSerial(deprecatedSerial);
  }
  if (key === undefined || chosen === undefined) return reject('unknown-serial');
  if (header('wechatmp-appid') !== appId) return reject('appid-mismatch');
  const timestampText = header('wechatmp-timestamp') ?? '';
  if (!/^[0-9]{1,12}$/.test(timestampText)) return reject('bad-envelope');
  const timestamp = Number(timestampText);
  if (!verifyApiText(key, apiSecuritySignedText(urlPath, appId, timestamp, input.body), chosen)) {
    return reject('bad-signature');
  }
  const envelope = parseJsonObject(input.body);
  const { iv, data, authtag } = envelope ?? {};
  if (typeof iv !== 'string' || typeof data !== 'string' || typeof authtag !== 'string')
    return reject('bad-envelope');
  const aad = apiSecurityAad(urlPath, appId, timestamp, security.symmetricKeySn);
  const plaintext = openApiPayload(security.symmetricKey, { iv, data, authtag }, aad);
  if (plaintext === undefined) return reject('decryption-failed');
  const answer = parseJsonObject(plaintext);
  if (answer === undefined) return reject('bad-envelope');
  if (answer['_appid'] !== appId) return reject('appid-mismatch');
  if (answer['_timestamp'] !== timestamp) return reject('timestamp-mismatch');
  if (Math.abs(input.nowSeconds - timestamp) > API_SECURITY_MAX_SKEW_SECONDS) return reject('stale');
  // fromEntries defines own properties: a `__proto__` key stays data, never a prototype.
  return Object.fromEntries(Object.entries(answer).filter(([name]) => !SECURITY_FIELDS.has(name)));
}

function unsignedAnswer(input: ApiAnswerToOpen): WxJsonObject {
  const answer = parseJsonObject(input.body);
  const errcode = answer?.['errcode'];
  if (typeof errcode !== 'number' || !Number.isInteger(errcode) || errcode === 0) {
    throw new WxApiAnswerRejectedError(input.operation, 'unsigned');
  }
  const errmsg = answer?.['errmsg'];
  // An unsigned refusal carries no data to forge: taken as the error it states, and nothing else
  // (40230 to 40240 then become WxApiSecurityRefusedError, as for any call).
  return typeof errmsg === 'string' ? { errcode, errmsg } : { errcode };
}

/**
 * The typed error of a refusal by WeChat's API security layer (40230 to 40240), whether the call
 * was protected or not (the console turned the mode on, this client did not), else `undefined`.
 *
 * @internal
 */
export function apiSecurityRefusal(
  operation: WxApiOperation,
  errcode: number,
  rid: string | undefined,
): WxApiSecurityRefusedError | undefined {
  const fix = API_SECURITY_REFUSALS.get(errcode);
  return fix === undefined ? undefined : new WxApiSecurityRefusedError(operation, errcode, fix, rid);
}

/**
 * The API security mode as the exchange's one hook: seals each protected request with a fresh
 * timestamp, nonce and iv, and opens its answer.
 *
 * @internal
 */
export class WxApiSecurityLayer implements WxExchangeLayer {
  private readonly warned = new Set<string>();

  constructor(
    private readonly security: ResolvedWxApiSecurity,
    private readonly appId: string,
    private readonly now: () => number,
  ) {}

  seal(request: WxApiRequest, urlPath: string): WxSealedRequest | undefined {
    if (request.method !== 'POST' || !this.security.endpoints.has(request.path)) return undefined;
    const { access_token: accessToken, ...otherQuery } = request.query;
    const timestamp = Math.floor(this.now() / 1000);
    const sealed = sealApiRequest({
      security: this.security,
      appId: this.appId,
      urlPath,
      timestamp,
      nonce: randomBytes(16 + randomInt(17))
        .toString('base64')
        .replace(/=+$/, ''),
      iv: randomBytes(API_SECURITY_IV_BYTES),
      // A body sent as exact bytes is still one JSON object; sealed, the sealed text is what is signed.
      params: {
        ...otherQuery,
        ...(typeof request.body === 'string' ? (JSON.parse(request.body) as object) : request.body),
      },
    });
    return {
      ...sealed,
      query: accessToken === undefined ? {} : { access_token: accessToken },
      open: (headers, body) =>
        openApiAnswer({
          security: this.security,
          operation: request.operation,
          appId: this.appId,
          urlPath,
          header: (name) => headers.get(name) ?? undefined,
          body,
          nowSeconds: Math.floor(this.now() / 1000),
          onDeprecatedSerial: (sn) => this.warnOnce(sn),
        }),
    };
  }

  private warnOnce(sn: string): void {
    if (this.warned.has(sn)) return;
    this.warned.add(sn);
    this.security.onWarning(
      `WeChat API security: mini program ${this.appId}'s answers verified only with platform certificate ${sn}, ` +
        'which WeChat is phasing out: download the new platform certificate from the console (API安全) and add it to platformCertificates',
    );
  }
}
