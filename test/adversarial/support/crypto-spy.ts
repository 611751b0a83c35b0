import { jest } from '@jest/globals';
import * as actualCrypto from 'node:crypto';

/** One call of `timingSafeEqual`, as the library made it. */
export interface TimingSafeEqualCall {
  aBytes: number;
  bBytes: number;
  bothBuffers: boolean;
  result: boolean;
}

/** What the library asked of `node:crypto` since the spy was installed. */
export interface CryptoCalls {
  /**
   * Decipher runs (`update` calls on a decipher from `createDecipheriv`): decoding let the input
   * through to the cipher. Runs, not constructions: the library keeps a decipher per session key.
   */
  deciphers: number;
  timingSafeEqual: TimingSafeEqualCall[];
}

/**
 * Replaces `node:crypto` for every module imported afterwards by a pass-through that counts the
 * runs of the deciphers `createDecipheriv` builds and records the argument sizes of `timingSafeEqual`.
 *
 * Why a module mock: the library imports `createDecipheriv` and `timingSafeEqual` as ESM named
 * bindings, which `jest.spyOn` cannot replace (module namespaces are sealed). A wrapper module
 * registered with `jest.unstable_mockModule` before the library is imported is what the
 * library's own `import … from 'node:crypto'` then binds to, so every call is counted, and the
 * real function still does the work. It must be called before anything that imports the
 * library; test files therefore import the library dynamically, after this call.
 */
export function installCryptoSpy(): CryptoCalls {
  const calls: CryptoCalls = { deciphers: 0, timingSafeEqual: [] };
  const realDecipher = actualCrypto.createDecipheriv as (...args: unknown[]) => unknown;
  const realTimingSafeEqual = actualCrypto.timingSafeEqual;
  const createDecipheriv = (...args: unknown[]): unknown => {
    const decipher = realDecipher(...args) as { update: (...updateArgs: unknown[]) => unknown };
    const update = decipher.update.bind(decipher);
    decipher.update = (...updateArgs: unknown[]): unknown => {
      calls.deciphers += 1;
      return update(...updateArgs);
    };
    return decipher;
  };
  const timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
    const result = realTimingSafeEqual(a, b);
    calls.timingSafeEqual.push({
      aBytes: a.byteLength,
      bBytes: b.byteLength,
      bothBuffers: Buffer.isBuffer(a) && Buffer.isBuffer(b),
      result,
    });
    return result;
  };
  jest.unstable_mockModule('node:crypto', () => ({
    ...actualCrypto,
    default: { ...actualCrypto, createDecipheriv, timingSafeEqual },
    createDecipheriv,
    timingSafeEqual,
  }));
  return calls;
}
