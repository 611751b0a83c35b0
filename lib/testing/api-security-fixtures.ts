import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { WxApiSecurityOptions } from '../api/index.js';
import { mintPlatformCertificate } from './fake-wechat/fake-wechat-certificate.js';
import type { FakeWeChatApiSecurity } from './fake-wechat/fake-wechat-security.js';

/**
 * A platform key pair with its certificate and console number, as the fake WeChat signs with.
 *
 * @public
 */
export interface FakePlatformCredentials {
  readonly privateKey: KeyObject;
  readonly certificate: string;
  readonly sn: string;
}

/**
 * Matching keys for both ends of the API security mode, made up for a test: give `client` to
 * `apiSecurity` of the client (or module) and `fake` to the fake WeChat's app.
 *
 * @public
 */
export interface ApiSecurityTestKeys {
  readonly client: WxApiSecurityOptions;
  readonly fake: FakeWeChatApiSecurity;
  readonly platform: FakePlatformCredentials;
}

/**
 * What {@link createApiSecurityTestKeys} makes.
 *
 * @public
 */
export interface ApiSecurityTestKeysSpec {
  /** The private key's PEM flavour. Default `pkcs8`. */
  privateKeyFormat?: 'pkcs1' | 'pkcs8';
  /** Reuse these platform credentials (e.g. another app's), instead of minting new ones. */
  platform?: FakePlatformCredentials;
}

/**
 * Makes a fresh RSA-2048 platform key and certificate (valid five years), with a random number.
 * Key generation takes tens of milliseconds: make them once per test file.
 *
 * @public
 */
export function createFakePlatformCredentials(notAfter?: number): FakePlatformCredentials {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spec = notAfter === undefined ? { privateKey } : { privateKey, notAfter };
  return { privateKey, certificate: mintPlatformCertificate(spec), sn: randomBytes(16).toString('hex') };
}

/**
 * Makes a symmetric key, an application RSA-2048 key pair and platform credentials, with random
 * numbers, for a test of the API security mode. Nothing here is a real key.
 *
 * @public
 */
export function createApiSecurityTestKeys(spec: ApiSecurityTestKeysSpec = {}): ApiSecurityTestKeys {
  const symmetricKey = randomBytes(32).toString('base64');
  const symmetricKeySn = randomBytes(16).toString('hex');
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const platform = spec.platform ?? createFakePlatformCredentials();
  const format = spec.privateKeyFormat ?? 'pkcs8';
  return {
    client: {
      symmetricKey,
      symmetricKeySn,
      privateKey: app.privateKey.export({ type: format, format: 'pem' }).toString(),
      privateKeySn: randomBytes(16).toString('hex'),
      platformCertificates: [{ sn: platform.sn, certificate: platform.certificate }],
    },
    fake: {
      symmetricKey,
      symmetricKeySn,
      appPublicKey: app.publicKey,
      platformPrivateKey: platform.privateKey,
      platformCertificateSn: platform.sn,
    },
    platform,
  };
}
