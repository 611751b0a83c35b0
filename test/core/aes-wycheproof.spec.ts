import { decryptAes128Cbc, decryptOpenData, WxDecryptionError, WxSessionKeyError } from '../../lib/index.js';
import { wycheproofCases } from '../support/wycheproof.js';
import { captureError } from '../support/capture-error.js';

const hex = (value: string): Buffer => Buffer.from(value, 'hex');
const cases128 = wycheproofCases(128);
const valid = cases128.filter((c) => c.result === 'valid');
const invalid = cases128.filter((c) => c.result === 'invalid');

describe('AES-128-CBC against Wycheproof aes_cbc_pkcs5', () => {
  it('has the documented 72 cases: 24 valid, 48 invalid', () => {
    expect(cases128).toHaveLength(72);
    expect(valid).toHaveLength(24);
    expect(invalid).toHaveLength(48);
  });

  it.each(valid.map((c) => [c.tcId, c.comment, c] as const))(
    'valid case %i (%s) decrypts byte-exact',
    (_id, _comment, c) => {
      expect(decryptAes128Cbc(hex(c.ct), hex(c.key), hex(c.iv)).toString('hex')).toBe(c.msg);
    },
  );

  it.each(invalid.map((c) => [c.tcId, c.comment, c] as const))(
    'invalid case %i (%s) fails with the uniform error',
    (_id, _comment, c) => {
      expect(() => decryptAes128Cbc(hex(c.ct), hex(c.key), hex(c.iv))).toThrow(WxDecryptionError);
      // The same case through the public entry point, as base64 from a request body.
      const input = {
        encryptedData: hex(c.ct).toString('base64'),
        iv: hex(c.iv).toString('base64'),
        sessionKey: hex(c.key).toString('base64'),
      };
      const error = captureError(() => decryptOpenData(input));
      expect(error).toBeInstanceOf(WxDecryptionError);
      expect((error as WxDecryptionError).code).toBe('DECRYPT_FAILED');
      expect((error as Error).message).toBe('open data could not be decrypted');
    },
  );

  it.each([192, 256] as const)('refuses every %i-bit key before decrypting', (keySize) => {
    for (const c of wycheproofCases(keySize)) {
      expect(() => decryptAes128Cbc(hex(c.ct), hex(c.key), hex(c.iv))).toThrow(WxSessionKeyError);
    }
  });
});
