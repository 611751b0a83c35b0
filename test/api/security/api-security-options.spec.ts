import { describe, expect, it } from '@jest/globals';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { WxApiClient } from '../../../lib/api/index.js';
import { resolveWxApiSecurity } from '../../../lib/api/security/api-security-options.js';
import { resolveWxOpenDataConfig, WxOpenDataConfigError } from '../../../lib/nest/config.js';
import { createApiSecurityTestKeys, mintPlatformCertificate } from '../../../lib/testing/index.js';
import { captureError } from '../../support/capture-error.js';

const keys = createApiSecurityTestKeys();
const NOW = Date.now();

describe('API security options', () => {
  it('accepts PKCS#8 and PKCS#1 private keys, and every endpoint by default', () => {
    const pkcs1 = createPrivateKey(keys.client.privateKey)
      .export({ type: 'pkcs1', format: 'pem' })
      .toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    for (const privateKey of [keys.client.privateKey, pkcs1]) {
      const { security, problems } = resolveWxApiSecurity({ ...keys.client, privateKey }, 'apiSecurity', NOW);
      expect(problems).toEqual([]);
      expect([...(security?.endpoints ?? [])]).toEqual([
        '/wxa/business/getuserphonenumber',
        '/wxa/business/checkencryptedmsg',
        '/wxa/getuserriskrank',
        '/wxa/getpluginopenpid',
      ]);
    }
  });

  it('reports every problem at once, naming the option and never its value', () => {
    const expired = mintPlatformCertificate({
      privateKey: keys.platform.privateKey,
      notBefore: NOW - 400 * 86_400_000,
      notAfter: NOW - 86_400_000,
    });
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const shortKey = Buffer.alloc(16, 7).toString('base64');
    const { security, problems } = resolveWxApiSecurity(
      {
        symmetricKey: shortKey,
        symmetricKeySn: 'has spaces\r\n',
        privateKey: ecKey,
        privateKeySn: keys.client.privateKeySn,
        platformCertificates: [
          { sn: 'aa', certificate: expired },
          { sn: 'bb', certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' },
          { sn: 'bb', certificate: keys.platform.certificate },
        ],
        endpoints: ['/sns/jscode2session'],
      },
      'apiSecurity',
      NOW,
    );
    expect(security).toBeUndefined();
    expect(problems).toEqual([
      expect.stringMatching(/^apiSecurity\.symmetricKey must be .* base64 of 32 bytes/),
      expect.stringMatching(/^apiSecurity\.symmetricKeySn must be/),
      expect.stringMatching(/^apiSecurity\.privateKey must be an RSA key/),
      expect.stringMatching(/^apiSecurity\.platformCertificates\[0\]\.certificate expired on \d{4}-/),
      expect.stringMatching(/^apiSecurity\.platformCertificates\[1\]\.certificate is not a readable PEM/),
      expect.stringMatching(/^apiSecurity\.platformCertificates\[2\]\.sn is listed twice/),
      expect.stringMatching(/^apiSecurity\.endpoints must list paths among/),
    ]);
    const text = problems.join('\n');
    expect(text).not.toContain(shortKey);
    expect(text).not.toContain(ecKey.split('\n')[1]);
  });

  it('reports an unreadable PEM, a missing certificate list and unknown algorithms', () => {
    const { problems } = resolveWxApiSecurity(
      {
        ...keys.client,
        privateKey: '-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n-----END RSA PRIVATE KEY-----',
        platformCertificates: [],
        encryptionAlgorithm: 'AES128_CBC',
      },
      'apps[2].apiSecurity',
      NOW,
    );
    expect(problems).toEqual([
      'apps[2].apiSecurity.encryptionAlgorithm must be AES256_GCM',
      'apps[2].apiSecurity.privateKey is not a readable PEM private key (unencrypted PKCS#1 or PKCS#8)',
      'apps[2].apiSecurity.platformCertificates must list the platform certificate(s): [{ sn, certificate }]',
    ]);
  });

  it('WxApiClient refuses bad options with one WxOpenDataConfigError listing them', () => {
    const error = captureError(
      () =>
        new WxApiClient({
          appId: 'wx0a1b2c3d4e5f6a7b',
          appSecret: 'secret',
          apiSecurity: { ...keys.client, symmetricKey: 'AAAA', privateKeySn: '' },
        }),
    );
    expect(error).toBeInstanceOf(WxOpenDataConfigError);
    const { problems } = error as WxOpenDataConfigError;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^apiSecurity\.symmetricKey /);
    expect(problems[1]).toMatch(/^apiSecurity\.privateKeySn /);
  });

  it('the module resolver lists the problems of every app in one WxOpenDataConfigError', () => {
    const expired = mintPlatformCertificate({ privateKey: keys.platform.privateKey, notAfter: NOW - 1000 });
    const error = captureError(() =>
      resolveWxOpenDataConfig({
        apps: [
          {
            appId: 'wx0a1b2c3d4e5f6a7b',
            appSecret: 's',
            apiSecurity: { ...keys.client, symmetricKey: 'AAAA' },
          },
          {
            appId: 'wx7b6a5f4e3d2c1b0a',
            appSecret: 's',
            apiSecurity: {
              ...keys.client,
              platformCertificates: [{ sn: 'ee11', certificate: expired }],
            },
          },
        ],
        sessionTtlSeconds: -1,
      }),
    );
    expect(error).toBeInstanceOf(WxOpenDataConfigError);
    const message = (error as Error).message;
    expect(message).toContain('apps[0].apiSecurity.symmetricKey must be');
    expect(message).toContain('apps[1].apiSecurity.platformCertificates[0].certificate expired');
    expect(message).toContain('sessionTtlSeconds must be a positive integer');
  });

  it('mintPlatformCertificate always writes a certificate Node reads (its random serial in minimal DER)', () => {
    // One serial in 128 once began with a zero byte, which OpenSSL refuses: 800 tries catch that.
    for (let i = 0; i < 800; i += 1) {
      const pem = mintPlatformCertificate({
        privateKey: keys.platform.privateKey,
        notAfter: NOW + 86_400_000,
      });
      expect(() => new X509Certificate(pem)).not.toThrow();
    }
  });

  it('the module refuses a top-level apiSecurity beside apps', () => {
    const error = captureError(() =>
      resolveWxOpenDataConfig({
        apps: [{ appId: 'wx0a1b2c3d4e5f6a7b', appSecret: 's' }],
        apiSecurity: keys.client,
      }),
    );
    expect((error as Error).message).toContain('apiSecurity goes with appId');
  });

  it('the module keeps a valid apiSecurity for the app’s client', () => {
    const config = resolveWxOpenDataConfig({
      appId: 'wx0a1b2c3d4e5f6a7b',
      appSecret: 's',
      apiSecurity: keys.client,
    });
    expect(config.apps.get('wx0a1b2c3d4e5f6a7b')?.apiSecurity).toBe(keys.client);
  });
});
