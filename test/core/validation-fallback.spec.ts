/**
 * Issue 16: a class-validator release that changes the private engine the compiled plan reads.
 * Simulated here by changing `MetadataStorage.getTargetValidationMetadatas`'s declared arguments
 * before the first validation
 * (each Jest test file has its own globals, so class-validator's global storage is this file's):
 * the library must fall back to `validateSync` by itself, say so once, and keep class-validator's
 * exact verdicts, paths and stripping.
 */
import { jest } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, IsInt, IsString, validateSync, type ValidationError } from 'class-validator';
import fc from 'fast-check';
import { VALIDATION_FALLBACK_WARNING, validateCompiled } from '../../lib/payloads/compiled-validation.js';
import {
  toOpenDataPayload,
  WxOpenDataPayload,
  WxPayloadValidationError,
  WxShareInfo,
  WxUserInfo,
} from '../../lib/index.js';
import { captureError } from '../support/capture-error.js';
import { realmClone } from '../support/realm-clone.js';

class Order extends WxOpenDataPayload {
  @IsString()
  orderId!: string;

  @IsInt()
  amount!: number;
}

const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
// A "release" whose getTargetValidationMetadatas takes its arguments differently: class-validator's
// own engine still works (it is the same function underneath), the plan must not trust it.
const storage = getMetadataStorage();
const original = storage.getTargetValidationMetadatas.bind(storage);
Object.defineProperty(storage, 'getTargetValidationMetadatas', {
  value: (...args: Parameters<typeof original>) => original(...args),
  configurable: true,
});

function failingPaths(errors: readonly ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = error.property === undefined ? prefix.replace(/\.$/, '') : prefix + error.property;
    const nested = error.children?.length ? failingPaths(error.children, `${path}.`) : [];
    return error.constraints && path !== '' ? [path, ...nested] : nested;
  });
}

/**
 * class-validator's own answer (the instance it leaves, or the failing paths), plus the library's
 * one rule of its own: a first property other than openId/unionId must be declared (whitelisting
 * keeps it).
 */
function reference(type: new () => object, plain: object): object | string[] {
  const instance = plainToInstance(type, realmClone(plain));
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: true });
  const [first] = Object.keys(plain);
  if (first !== undefined && first !== 'openId' && first !== 'unionId' && !Object.hasOwn(instance, first)) {
    return ['(first property: not declared)'];
  }
  return errors.length > 0 ? failingPaths(errors) : instance;
}

function library(type: new () => object, plain: object): object | string[] {
  try {
    return toOpenDataPayload(type, realmClone(plain));
  } catch (error) {
    if (error instanceof WxPayloadValidationError) return error.properties;
    throw error;
  }
}

const watermark = { appid: 'wx0123456789abcdef', timestamp: 1_700_000_000 };

describe('compiled validation with a class-validator whose internals changed', () => {
  it('switches itself off: validateCompiled answers undefined, and one process warning says why', () => {
    expect(validateCompiled(plainToInstance(WxShareInfo, { openGId: 'g', watermark }))).toBeUndefined();
    expect(validateCompiled(plainToInstance(WxShareInfo, { openGId: 'g', watermark }))).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0] as [string, { code: string }];
    expect(options.code).toBe(VALIDATION_FALLBACK_WARNING);
    expect(message).toContain('MetadataStorage.getTargetValidationMetadatas');
    expect(message).toContain('validateSync');
  });

  it.each([
    ['WxShareInfo, valid, with an extra field to strip', WxShareInfo, { openGId: 'g', watermark, extra: 1 }],
    ['WxShareInfo, invalid', WxShareInfo, { openGId: 5, watermark: { appid: 'wx', timestamp: -1 } }],
    ['WxUserInfo, valid', WxUserInfo, { openId: 'o', nickName: 'n', gender: 1, watermark, city: 'c' }],
    ['a user DTO, valid', Order, { orderId: 'a1', amount: 3, watermark, note: 'stripped' }],
    ['a user DTO, invalid', Order, { orderId: 1, amount: 'x', watermark }],
  ])('%s: exactly class-validator’s verdict, paths and stripping', (_name, type, plain) => {
    expect(library(type, plain)).toEqual(reference(type, plain));
  });

  it('agrees with class-validator on generated user-info payloads', () => {
    const any = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object());
    const payload = fc.record(
      {
        openId: fc.oneof(fc.string(), any),
        nickName: fc.oneof(fc.string(), any),
        gender: any,
        watermark: fc.oneof(fc.constant(watermark), any),
        extra: any,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(payload, (plain) => {
        expect(library(WxUserInfo, plain)).toEqual(reference(WxUserInfo, plain));
      }),
      { numRuns: 200, seed: 20_261_201 },
    );
  });

  it('still refuses a first property the DTO does not declare (whitelisting tells which)', () => {
    const error = captureError(() =>
      toOpenDataPayload(Order, { admin: 1, orderId: 'a', amount: 1, watermark }),
    );
    expect(error).toBeInstanceOf(WxPayloadValidationError);
    expect((error as WxPayloadValidationError).properties).toEqual(['(first property: not declared)']);
    expect(toOpenDataPayload(Order, { orderId: 'a', amount: 1, watermark })).toBeInstanceOf(Order);
  });

  it('warned once in all', () => {
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
