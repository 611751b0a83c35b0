/**
 * Issue 16: a class-transformer whose metadata storage the compiled transform cannot read (a
 * release that changed its private maps, or a second copy of the package whose decorators write
 * elsewhere). The library must fall back to `plainToInstance` by itself, say so once, and build
 * exactly what class-transformer builds. Each Jest test file has its own module registry, so the
 * storage altered here is this file's alone.
 */
import { jest } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import {
  resetCompiledTransform,
  TRANSFORM_FALLBACK_WARNING,
  transformCompiled,
} from '../../lib/payloads/compiled-transform.js';
import { toOpenDataPayload, WxOpenDataPayload, WxUserInfo, WxWeRunData } from '../../lib/index.js';
import { realmClone } from '../support/realm-clone.js';

const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
const storage = defaultMetadataStorage as Record<string, Map<unknown, Map<unknown, unknown>>>;
const watermark = { appid: 'wx0123456789abcdef', timestamp: 1_700_000_000 };
const user = {
  openId: 'o',
  nickName: 'n',
  gender: 1,
  city: 'c',
  avatarUrl: 'https://a',
  watermark,
  extra: 'stripped',
};
const steps = { stepInfoList: [{ timestamp: 1_700_000_000, step: 12 }], watermark };

/** Exactly one process warning so far: the transform's fallback, its message naming `reason`. */
function expectOneFallbackWarning(reason: string): void {
  expect(warn).toHaveBeenCalledTimes(1);
  const [message, options] = warn.mock.calls[0] as [string, { code: string }];
  expect(options.code).toBe(TRANSFORM_FALLBACK_WARNING);
  expect(message).toContain(reason);
  expect(message).toContain('plainToInstance');
}

afterEach(() => {
  warn.mockClear();
  resetCompiledTransform();
});

describe('compiled transform with a class-transformer it cannot read', () => {
  it('a storage whose maps changed shape: plainToInstance instead, one warning naming what is missing', () => {
    const original = storage['_transformMetadatas'] as Map<unknown, Map<unknown, unknown>>;
    // Still usable by class-transformer itself (get/has/set), no longer the Map the plan reads.
    storage['_transformMetadatas'] = {
      get: (key: unknown) => original.get(key),
      has: (key: unknown) => original.has(key),
      set: (key: unknown, value: Map<unknown, unknown>) => original.set(key, value),
    } as unknown as Map<unknown, Map<unknown, unknown>>;
    try {
      expect(transformCompiled(WxUserInfo, user)).toBeUndefined();
      expect(transformCompiled(WxWeRunData, steps)).toBeUndefined();
      expectOneFallbackWarning('MetadataStorage._transformMetadatas');
      // The DTOs are still built, by class-transformer itself, and validated as before.
      const instance = toOpenDataPayload(WxWeRunData, realmClone(steps));
      const reference = plainToInstance(WxWeRunData, realmClone(steps));
      expect(instance).toBeInstanceOf(WxWeRunData);
      expect(JSON.stringify(instance)).toBe(JSON.stringify(reference));
      expect(instance.stepInfoList[0]?.constructor).toBe(reference.stepInfoList[0]?.constructor);
      expect(toOpenDataPayload(WxUserInfo, realmClone(user))).not.toHaveProperty('extra');
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      storage['_transformMetadatas'] = original;
    }
  });

  it('a storage the decorators did not write to (a second copy): plainToInstance instead, one warning', () => {
    const types = storage['_typeMetadatas'] as Map<unknown, Map<unknown, unknown>>;
    const own = types.get(WxOpenDataPayload) as Map<unknown, unknown>;
    types.delete(WxOpenDataPayload);
    try {
      expect(transformCompiled(WxUserInfo, user)).toBeUndefined();
      expect(transformCompiled(WxUserInfo, user)).toBeUndefined();
      expectOneFallbackWarning('second copy of class-transformer');
    } finally {
      types.set(WxOpenDataPayload, own);
    }
  });

  it('the storage readable again: the compiled transform is back, with no warning', () => {
    const instance = transformCompiled(WxUserInfo, realmClone(user));
    expect(instance).toBeInstanceOf(WxUserInfo);
    expect(warn).not.toHaveBeenCalled();
  });
});
