import { verifySignature } from '../../lib/index.js';
import { signRawData } from '../../lib/testing/index.js';

// The worked example of WeChat's page on open-data signatures.
const RAW_DATA =
  '{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}';
const SESSION_KEY = 'HyVFkGl5F5OQWJZZaNzBBg==';
const SIGNATURE = '75e81ceda165f4ffa64f4068af58c64b8f54b88c';

describe('verifySignature', () => {
  it('accepts the WeChat worked example', () => {
    expect(verifySignature(RAW_DATA, SIGNATURE, SESSION_KEY)).toBe(true);
    expect(signRawData(RAW_DATA, SESSION_KEY)).toBe(SIGNATURE);
  });

  it('accepts an upper-case hex signature', () => {
    expect(verifySignature(RAW_DATA, SIGNATURE.toUpperCase(), SESSION_KEY)).toBe(true);
  });

  it('checks the exact rawData string: re-serialised JSON does not pass', () => {
    const reformatted = JSON.stringify(JSON.parse(RAW_DATA), null, 1);
    expect(verifySignature(reformatted, SIGNATURE, SESSION_KEY)).toBe(false);
    expect(verifySignature(`${RAW_DATA} `, SIGNATURE, SESSION_KEY)).toBe(false);
  });

  it('rejects another key and a flipped signature digit', () => {
    expect(verifySignature(RAW_DATA, SIGNATURE, 'AAAAAAAAAAAAAAAAAAAAAA==')).toBe(false);
    const flipped = `${SIGNATURE.slice(0, 39)}${SIGNATURE.endsWith('c') ? 'd' : 'c'}`;
    expect(verifySignature(RAW_DATA, flipped, SESSION_KEY)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['39 characters', SIGNATURE.slice(0, 39)],
    ['41 characters', `${SIGNATURE}0`],
    ['non-hex', `${SIGNATURE.slice(0, 39)}g`],
    ['base64 of the digest', Buffer.from(SIGNATURE, 'hex').toString('base64')],
    ['hex with spaces', ` ${SIGNATURE.slice(1)}`],
  ])('returns false, never throws, for a malformed signature: %s', (_name, signature) => {
    expect(verifySignature(RAW_DATA, signature, SESSION_KEY)).toBe(false);
  });

  it('returns false for non-string arguments from untyped callers', () => {
    const call = verifySignature as (...args: unknown[]) => boolean;
    expect(call(undefined, SIGNATURE, SESSION_KEY)).toBe(false);
    expect(call(RAW_DATA, 42, SESSION_KEY)).toBe(false);
    expect(call(RAW_DATA, SIGNATURE, null)).toBe(false);
  });
});

describe('verifySignature refuses non-canonical spellings of the digest', () => {
  it('full-width hex letters, which Node would decode to the same bytes', () => {
    const digest = signRawData(RAW_DATA, SESSION_KEY);
    const fullWidth = [...digest]
      .map((c) => (/[a-f]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
      .join('');
    expect(Buffer.from(fullWidth, 'hex').equals(Buffer.from(digest, 'hex'))).toBe(/[a-f]/.test(digest));
    expect(verifySignature(RAW_DATA, fullWidth, SESSION_KEY)).toBe(false);
  });
});
