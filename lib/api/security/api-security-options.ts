import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeStrictBase64 } from '../../core/base64.js';

/**
 * A platform certificate downloaded from the console (开发 → 开发管理 → 开发设置 → API安全),
 * with the number the console shows beside it.
 *
 * @public
 */
export interface WxApiPlatformCertificate {
  /** The certificate's number as the console shows it (`Wechatmp-Serial`), not its X.509 serial. */
  sn: string;
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  certificate: string;
}

/**
 * The endpoints that WeChat marks as supporting the API security mode ("支持加密请求") and that
 * this library calls with POST, the only verb the guide describes.
 *
 * @public
 */
export const WX_API_SECURITY_ENDPOINTS = Object.freeze([
  '/wxa/business/getuserphonenumber',
  '/wxa/business/checkencryptedmsg',
  '/wxa/getuserriskrank',
  '/wxa/getpluginopenpid',
] as const);

/**
 * One of {@link WX_API_SECURITY_ENDPOINTS}.
 *
 * @public
 */
export type WxApiSecurityEndpoint = (typeof WX_API_SECURITY_ENDPOINTS)[number];

/**
 * WeChat's API security mode ("API 安全") for one mini program: protected calls are encrypted
 * with AES-256-GCM and signed with RSASSA-PSS, and their answers are verified against the
 * platform certificate and decrypted before anything reads them. Every value comes from the
 * console's API安全 page. Key material is never put in an error or a log.
 *
 * @public
 */
export interface WxApiSecurityOptions {
  /** The API symmetric key (API对称密钥), base64 of 32 bytes. */
  symmetricKey: string;
  /** The symmetric key's number (密钥编号). */
  symmetricKeySn: string;
  /** The application private key (应用私钥), PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`). */
  privateKey: string;
  /** The number of the application key pair whose public key is registered in the console. */
  privateKeySn: string;
  /**
   * The platform certificate(s) answers are verified with. During a certificate rotation WeChat
   * signs with both the new and the outgoing certificate; either verifies.
   */
  platformCertificates: readonly WxApiPlatformCertificate[];
  /** Which calls to protect; default every one of {@link WX_API_SECURITY_ENDPOINTS}. */
  endpoints?: readonly WxApiSecurityEndpoint[];
  /** `AES256_GCM` (default). `SM4_GCM` is refused at boot: Node's OpenSSL has no SM4-GCM. */
  encryptionAlgorithm?: 'AES256_GCM' | 'SM4_GCM';
  /** `RSAwithSHA256` (default). `SM2withSM3` is refused at boot: Node's OpenSSL has no SM2 keys. */
  signatureAlgorithm?: 'RSAwithSHA256' | 'SM2withSM3';
  /**
   * Told (once per certificate number) when an answer verified only with a certificate WeChat
   * is phasing out: download the new one. Default: `process.emitWarning`.
   */
  onWarning?: (message: string) => void;
}

/**
 * {@link WxApiSecurityOptions} parsed and checked.
 *
 * @internal
 */
export interface ResolvedWxApiSecurity {
  readonly symmetricKey: Buffer;
  readonly symmetricKeySn: string;
  readonly privateKey: KeyObject;
  readonly privateKeySn: string;
  /** Platform public keys by the console's certificate number. */
  readonly platformKeys: ReadonlyMap<string, KeyObject>;
  readonly endpoints: ReadonlySet<string>;
  readonly onWarning: (message: string) => void;
}

/** Console key numbers are 32 hex characters; this also keeps them safe as header values. */
const KEY_SN = /^[0-9A-Za-z]{1,64}$/;

/**
 * Parses and checks the API security options of one mini program, collecting every problem.
 * Problems name the option and what is wrong, never a value.
 *
 * @param where - how the options are named in problems, e.g. `apps[1].apiSecurity`
 * @param now - the wall clock in milliseconds, for certificate expiry
 * @internal
 */
export function resolveWxApiSecurity(
  options: unknown,
  where: string,
  now: number,
): { security?: ResolvedWxApiSecurity; problems: string[] } {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    return { problems: [`${where} must be an object ({ symmetricKey, symmetricKeySn, privateKey, ... })`] };
  }
  const o = options as Partial<Record<keyof WxApiSecurityOptions, unknown>>;
  if (o.encryptionAlgorithm !== undefined && o.encryptionAlgorithm !== 'AES256_GCM') {
    problems.push(
      o.encryptionAlgorithm === 'SM4_GCM'
        ? `${where}.encryptionAlgorithm SM4_GCM is not supported: Node's OpenSSL has no SM4-GCM; choose AES256_GCM in the console`
        : `${where}.encryptionAlgorithm must be AES256_GCM`,
    );
  }
  if (o.signatureAlgorithm !== undefined && o.signatureAlgorithm !== 'RSAwithSHA256') {
    problems.push(
      o.signatureAlgorithm === 'SM2withSM3'
        ? `${where}.signatureAlgorithm SM2withSM3 is not supported: Node's OpenSSL has no SM2 keys; choose RSAwithSHA256 in the console`
        : `${where}.signatureAlgorithm must be RSAwithSHA256`,
    );
  }
  const symmetricKey = typeof o.symmetricKey === 'string' ? decodeStrictBase64(o.symmetricKey) : undefined;
  if (symmetricKey?.length !== 32) {
    problems.push(`${where}.symmetricKey must be the console's symmetric key: base64 of 32 bytes (AES-256)`);
  }
  const symmetricKeySn = checkSn(o.symmetricKeySn, `${where}.symmetricKeySn`, problems);
  const privateKey = readPrivateKey(o.privateKey, `${where}.privateKey`, problems);
  const privateKeySn = checkSn(o.privateKeySn, `${where}.privateKeySn`, problems);
  const platformKeys = readCertificates(
    o.platformCertificates,
    `${where}.platformCertificates`,
    now,
    problems,
  );
  const endpoints = readEndpoints(o.endpoints, `${where}.endpoints`, problems);
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') {
    problems.push(`${where}.onWarning must be a function`);
  }
  if (problems.length > 0) return { problems };
  return {
    problems,
    security: {
      symmetricKey: symmetricKey as Buffer,
      symmetricKeySn: symmetricKeySn as string,
      privateKey: privateKey as KeyObject,
      privateKeySn: privateKeySn as string,
      platformKeys,
      endpoints,
      onWarning: (o.onWarning as ((message: string) => void) | undefined) ?? defaultWarning,
    },
  };
}

function defaultWarning(message: string): void {
  process.emitWarning(message, { code: 'WX_API_SECURITY_CERTIFICATE' });
}

function checkSn(value: unknown, name: string, problems: string[]): string | undefined {
  if (typeof value === 'string' && KEY_SN.test(value)) return value;
  problems.push(`${name} must be the number the console shows (letters and digits)`);
  return undefined;
}

function readPrivateKey(value: unknown, name: string, problems: string[]): KeyObject | undefined {
  if (typeof value !== 'string' || !value.includes('PRIVATE KEY-----')) {
    problems.push(
      `${name} must be a PEM private key (PKCS#1 "BEGIN RSA PRIVATE KEY" or PKCS#8 "BEGIN PRIVATE KEY")`,
    );
    return undefined;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: value, format: 'pem' });
  } catch {
    // OpenSSL's message is dropped: it is not needed to fix the PEM and could quote it.
    problems.push(`${name} is not a readable PEM private key (unencrypted PKCS#1 or PKCS#8)`);
    return undefined;
  }
  if (key.asymmetricKeyType !== 'rsa') {
    problems.push(`${name} must be an RSA key (RSAwithSHA256)`);
    return undefined;
  }
  return key;
}

function readCertificates(
  value: unknown,
  name: string,
  now: number,
  problems: string[],
): ReadonlyMap<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const seen = new Set<string>();
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${name} must list the platform certificate(s): [{ sn, certificate }]`);
    return keys;
  }
  value.forEach((entry: unknown, index) => {
    const where = `${name}[${index}]`;
    const { sn, certificate } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<
      string,
      unknown
    >;
    const checkedSn = checkSn(sn, `${where}.sn`, problems);
    if (checkedSn !== undefined && seen.has(checkedSn)) problems.push(`${where}.sn is listed twice`);
    if (checkedSn !== undefined) seen.add(checkedSn);
    let parsed: X509Certificate;
    try {
      if (typeof certificate !== 'string') throw new TypeError('not a string');
      parsed = new X509Certificate(certificate);
    } catch {
      problems.push(`${where}.certificate is not a readable PEM certificate ("BEGIN CERTIFICATE")`);
      return;
    }
    if (Date.parse(parsed.validTo) <= now) {
      problems.push(
        `${where}.certificate expired on ${new Date(parsed.validTo).toISOString()}: download the current one from the console`,
      );
      return;
    }
    if (parsed.publicKey.asymmetricKeyType !== 'rsa') {
      problems.push(`${where}.certificate must hold an RSA key (RSAwithSHA256)`);
      return;
    }
    if (checkedSn !== undefined) keys.set(checkedSn, parsed.publicKey);
  });
  return keys;
}

function readEndpoints(value: unknown, name: string, problems: string[]): ReadonlySet<string> {
  if (value === undefined) return new Set(WX_API_SECURITY_ENDPOINTS);
  const supported: readonly string[] = WX_API_SECURITY_ENDPOINTS;
  if (!Array.isArray(value) || value.some((path) => typeof path !== 'string' || !supported.includes(path))) {
    problems.push(`${name} must list paths among ${WX_API_SECURITY_ENDPOINTS.join(', ')}`);
    return new Set();
  }
  return new Set(value as string[]);
}
