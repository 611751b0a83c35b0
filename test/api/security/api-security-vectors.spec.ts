import { describe, expect, it } from '@jest/globals';
import { constants, createHash, createPublicKey, generateKeyPairSync, getCiphers, verify } from 'node:crypto';
import { WxApiAnswerRejectedError } from '../../../lib/api/index.js';
import {
  apiSecurityAad,
  apiSecuritySignedText,
  openApiPayload,
  sealApiPayload,
  signApiText,
  verifyApiText,
} from '../../../lib/api/security/api-security-crypto.js';
import {
  resolveWxApiSecurity,
  type ResolvedWxApiSecurity,
} from '../../../lib/api/security/api-security-options.js';
import { openApiAnswer, sealApiRequest } from '../../../lib/api/security/api-security.js';
import { encryptFakePayload } from '../../../lib/testing/fake-wechat/fake-wechat-security.js';
import { captureError } from '../../support/capture-error.js';
import { GUIDE, GUIDE_REQUEST_BODY } from './wechat-guide-example.js';

// The guide's private key is not kept (see wechat-guide-example.ts): signing uses a key made here.
const signer = generateKeyPairSync('rsa', { modulusLength: 2048 });

function guideSecurity(overrides: Record<string, unknown> = {}): ResolvedWxApiSecurity {
  const { security, problems } = resolveWxApiSecurity(
    {
      symmetricKey: GUIDE.symmetricKey,
      symmetricKeySn: GUIDE.symmetricKeySn,
      privateKey: signer.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      privateKeySn: GUIDE.privateKeySn,
      platformCertificates: [{ sn: GUIDE.platformCertificateSn, certificate: GUIDE.platformCertificate }],
      ...overrides,
    },
    'apiSecurity',
    GUIDE.certificateValidAt,
  );
  expect(problems).toEqual([]);
  return security as ResolvedWxApiSecurity;
}

function guideHeaders(extra: Record<string, string | undefined> = {}): (name: string) => string | undefined {
  const headers: Record<string, string | undefined> = {
    'wechatmp-appid': GUIDE.appId,
    'wechatmp-timestamp': String(GUIDE.response.timestamp),
    'wechatmp-serial': GUIDE.platformCertificateSn,
    'wechatmp-signature': GUIDE.response.signature,
    'wechatmp-serial-deprecated': GUIDE.response.deprecatedSerial,
    'wechatmp-signature-deprecated': GUIDE.response.deprecatedSignature,
    ...extra,
  };
  return (name) => headers[name];
}

function openGuideAnswer(
  security: ResolvedWxApiSecurity,
  overrides: { header?: (name: string) => string | undefined; body?: string; nowSeconds?: number } = {},
): Readonly<Record<string, unknown>> {
  return openApiAnswer({
    security,
    operation: 'getPhoneNumber',
    appId: GUIDE.appId,
    urlPath: GUIDE.urlPath,
    header: overrides.header ?? guideHeaders(),
    body: overrides.body ?? GUIDE.response.body,
    nowSeconds: overrides.nowSeconds ?? GUIDE.response.timestamp + 1,
    onDeprecatedSerial: () => undefined,
  });
}

describe("WeChat's API security example (guide 服务端 API 签名加密指南)", () => {
  describe('request', () => {
    it('builds the AAD and the plaintext the guide prints', () => {
      expect(apiSecurityAad(GUIDE.urlPath, GUIDE.appId, GUIDE.request.timestamp, GUIDE.symmetricKeySn)).toBe(
        GUIDE.request.aad,
      );
      const envelope = openApiPayload(
        Buffer.from(GUIDE.symmetricKey, 'base64'),
        { iv: GUIDE.request.iv, data: GUIDE.request.data, authtag: GUIDE.request.authtag },
        GUIDE.request.aad,
      );
      expect(envelope).toBe(GUIDE.request.plaintext);
    });

    it('encrypts to the guide’s body byte for byte, given its iv, timestamp and _n', () => {
      const { body, headers } = sealApiRequest({
        security: guideSecurity(),
        appId: GUIDE.appId,
        urlPath: GUIDE.urlPath,
        timestamp: GUIDE.request.timestamp,
        nonce: GUIDE.request.nonce,
        iv: Buffer.from(GUIDE.request.iv, 'base64'),
        params: GUIDE.request.params,
      });
      expect(body).toBe(GUIDE_REQUEST_BODY);
      expect(Buffer.byteLength(body)).toBe(324);
      expect(headers).toMatchObject({
        'Wechatmp-Appid': GUIDE.appId,
        'Wechatmp-TimeStamp': '1635927954',
        'Wechatmp-Serial': GUIDE.privateKeySn,
      });
      // RSA-PSS is randomised: the signature verifies (salt 32, exactly) over the bytes sent.
      const signed = apiSecuritySignedText(GUIDE.urlPath, GUIDE.appId, GUIDE.request.timestamp, body);
      expect(createHash('sha256').update(signed).digest('hex')).toBe(GUIDE.request.signedTextSha256);
      const signature = Buffer.from(headers['Wechatmp-Signature'] as string, 'base64');
      const pss = (saltLength: number): boolean =>
        verify(
          'sha256',
          Buffer.from(signed),
          { key: signer.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength },
          signature,
        );
      expect(pss(32)).toBe(true);
      expect(pss(20)).toBe(false);
      expect(verify('sha256', Buffer.from(signed), signer.publicKey, signature)).toBe(false); // not PKCS#1 v1.5
    });

    it('verifies the guide’s request signature with the guide’s public key, and not with the SN in the signed text', () => {
      const key = createPublicKey(GUIDE.appPublicKey);
      const signed = apiSecuritySignedText(
        GUIDE.urlPath,
        GUIDE.appId,
        GUIDE.request.timestamp,
        GUIDE_REQUEST_BODY,
      );
      expect(verifyApiText(key, signed, GUIDE.request.signature)).toBe(true);
      const withSn = `${GUIDE.urlPath}\n${GUIDE.appId}\n${GUIDE.request.timestamp}\n${GUIDE.privateKeySn}\n${GUIDE_REQUEST_BODY}`;
      expect(verifyApiText(key, withSn, GUIDE.request.signature)).toBe(false);
    });

    it('keeps the security fields out of reach of the parameters', () => {
      const { body } = sealApiRequest({
        security: guideSecurity(),
        appId: GUIDE.appId,
        urlPath: GUIDE.urlPath,
        timestamp: GUIDE.request.timestamp,
        nonce: GUIDE.request.nonce,
        iv: Buffer.from(GUIDE.request.iv, 'base64'),
        params: { ...GUIDE.request.params, _appid: 'wx0000000000000000', _timestamp: 1 },
      });
      expect(body).toBe(GUIDE_REQUEST_BODY);
    });
  });

  describe('answer', () => {
    it('verifies, decrypts and strips the guide’s answer to WeChat’s plain answer', () => {
      expect(
        createHash('sha256')
          .update(
            apiSecuritySignedText(GUIDE.urlPath, GUIDE.appId, GUIDE.response.timestamp, GUIDE.response.body),
          )
          .digest('hex'),
      ).toBe(GUIDE.response.signedTextSha256);
      expect(openGuideAnswer(guideSecurity())).toEqual(GUIDE.response.answer);
    });

    it('reproduces the guide’s answer ciphertext byte for byte (the fake WeChat’s encryption)', () => {
      const envelope = encryptFakePayload(
        Buffer.from(GUIDE.symmetricKey, 'base64'),
        Buffer.from(GUIDE.response.iv, 'base64'),
        apiSecurityAad(GUIDE.urlPath, GUIDE.appId, GUIDE.response.timestamp, GUIDE.symmetricKeySn),
        GUIDE.response.plaintext,
      );
      expect(JSON.stringify(envelope)).toBe(GUIDE.response.body);
      const ours = sealApiPayload(
        Buffer.from(GUIDE.symmetricKey, 'base64'),
        Buffer.from(GUIDE.response.iv, 'base64'),
        apiSecurityAad(GUIDE.urlPath, GUIDE.appId, GUIDE.response.timestamp, GUIDE.symmetricKeySn),
        GUIDE.response.plaintext,
      );
      expect(JSON.stringify(ours)).toBe(GUIDE.response.body);
    });

    it.each([
      [
        'a serial no certificate configured has',
        { header: guideHeaders({ 'wechatmp-serial': 'ffff' }) },
        'unknown-serial',
      ],
      [
        'the signature of another certificate under the configured serial',
        { header: guideHeaders({ 'wechatmp-signature': GUIDE.response.deprecatedSignature }) },
        'bad-signature',
      ],
      [
        'a body other than the one signed',
        { body: GUIDE.response.body.replace('"iv"', '"iv" ') },
        'bad-signature',
      ],
      [
        'another timestamp header',
        { header: guideHeaders({ 'wechatmp-timestamp': '1635927957' }) },
        'bad-signature',
      ],
      [
        'another appid header',
        { header: guideHeaders({ 'wechatmp-appid': 'wx0000000000000000' }) },
        'appid-mismatch',
      ],
      ['an answer older than 300 s', { nowSeconds: GUIDE.response.timestamp + 301 }, 'stale'],
      ['an answer from more than 300 s ahead', { nowSeconds: GUIDE.response.timestamp - 301 }, 'stale'],
      [
        'no signature and no error',
        {
          header: guideHeaders({
            'wechatmp-signature': undefined,
            'wechatmp-signature-deprecated': undefined,
          }),
        },
        'unsigned',
      ],
    ])('rejects %s', (_name, overrides, reason) => {
      const error = captureError(() => openGuideAnswer(guideSecurity(), overrides));
      expect(error).toBeInstanceOf(WxApiAnswerRejectedError);
      expect((error as WxApiAnswerRejectedError).reason).toBe(reason);
    });

    it('accepts an answer 300 s old, the edge of the window', () => {
      expect(openGuideAnswer(guideSecurity(), { nowSeconds: GUIDE.response.timestamp + 300 })).toEqual(
        GUIDE.response.answer,
      );
    });

    it('rejects an answer whose AAD names another symmetric key number', () => {
      const wrongSn = guideSecurity({ symmetricKeySn: '00000000000000000000000000000000' });
      const error = captureError(() => openGuideAnswer(wrongSn));
      expect((error as WxApiAnswerRejectedError).reason).toBe('decryption-failed');
    });
  });

  it('Node offers neither SM4-GCM nor SM2: asking for them is a boot error', () => {
    expect(getCiphers()).not.toContain('sm4-gcm');
    const { problems } = resolveWxApiSecurity(
      { encryptionAlgorithm: 'SM4_GCM', signatureAlgorithm: 'SM2withSM3' },
      'apiSecurity',
      Date.now(),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('SM4_GCM is not supported'),
        expect.stringContaining('SM2withSM3 is not supported'),
      ]),
    );
  });
});

describe('answers that authenticate but could still mislead', () => {
  const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const urlPath = 'http://127.0.0.1:1/wxa/business/getuserphonenumber';
  const timestamp = 1_700_000_000;

  /** An answer sealed and signed as WeChat would, around `plaintext`. */
  function sealedAnswer(plaintext: string): { body: string; header: (name: string) => string | undefined } {
    const envelope = sealApiPayload(
      Buffer.from(GUIDE.symmetricKey, 'base64'),
      Buffer.alloc(12, 3),
      apiSecurityAad(urlPath, GUIDE.appId, timestamp, GUIDE.symmetricKeySn),
      plaintext,
    );
    const body = JSON.stringify(envelope);
    const signature = signApiText(
      platform.privateKey,
      apiSecuritySignedText(urlPath, GUIDE.appId, timestamp, body),
    );
    const headers: Record<string, string> = {
      'wechatmp-appid': GUIDE.appId,
      'wechatmp-timestamp': String(timestamp),
      'wechatmp-serial': 'aa11',
      'wechatmp-signature': signature,
    };
    return { body, header: (name) => headers[name] };
  }

  const security = (): ResolvedWxApiSecurity => ({
    ...guideSecurity(),
    platformKeys: new Map([['aa11', platform.publicKey]]),
  });

  it('keeps a `__proto__` key as data, never as the prototype', () => {
    const { body, header } = sealedAnswer(
      `{"_n":"x","_appid":"${GUIDE.appId}","_timestamp":${timestamp},"errcode":0,"__proto__":{"polluted":true}}`,
    );
    const answer = openApiAnswer({
      security: security(),
      operation: 'getPhoneNumber',
      appId: GUIDE.appId,
      urlPath,
      header,
      body,
      nowSeconds: timestamp,
      onDeprecatedSerial: () => undefined,
    });
    expect(Object.getPrototypeOf(answer)).toBe(Object.prototype);
    expect((answer as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(answer)).toEqual(['errcode', '__proto__']);
  });

  it.each([
    ['plaintext that is not JSON', 'not json', 'bad-envelope'],
    ['no _appid', `{"_timestamp":${timestamp},"errcode":0}`, 'appid-mismatch'],
    [
      '_timestamp as a string',
      `{"_appid":"${GUIDE.appId}","_timestamp":"${timestamp}","errcode":0}`,
      'timestamp-mismatch',
    ],
  ])('refuses %s', (_name, plaintext, reason) => {
    const { body, header } = sealedAnswer(plaintext);
    const error = captureError(() =>
      openApiAnswer({
        security: security(),
        operation: 'getPhoneNumber',
        appId: GUIDE.appId,
        urlPath,
        header,
        body,
        nowSeconds: timestamp,
        onDeprecatedSerial: () => undefined,
      }),
    );
    expect((error as WxApiAnswerRejectedError).reason).toBe(reason);
  });
});
