import { Type, plainToInstance } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Min,
  ValidateIf,
  ValidateNested,
  validateSync,
  type ValidationError,
} from 'class-validator';
import fc from 'fast-check';
import { validateCompiled } from '../../lib/payloads/compiled-validation.js';
import { WxOpenDataPayload, WxPhoneNumber, WxShareInfo, WxUserInfo, WxWeRunData } from '../../lib/index.js';

// The compiled plan must agree with class-validator itself, to the letter: same verdict, same
// failing paths in the same order, same whitelist stripping. class-validator is the reference.

class Tag {
  @IsString()
  label!: string;
}

class Exotic extends WxOpenDataPayload {
  @IsDefined()
  @IsInt({ each: true })
  counts!: number[];

  @ValidateIf((o: Exotic) => o.kind === 'tagged')
  @ValidateNested({ each: true })
  @Type(() => Tag)
  tags?: Tag[];

  @IsIn(['tagged', 'plain'])
  kind!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2)
  @IsString({ each: true })
  notes?: string[];

  @IsOptional()
  @Min(0)
  score?: number;
}

function failingPaths(errors: readonly ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = error.property === undefined ? prefix.replace(/\.$/, '') : prefix + error.property;
    const nested = error.children?.length ? failingPaths(error.children, `${path}.`) : [];
    return error.constraints && path !== '' ? [path, ...nested] : nested;
  });
}

const seed = Number(process.env['ADVERSARIAL_SEED'] ?? 20_261_124);
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.oneof(fc.integer(), fc.string(), fc.object())),
  fc.object(),
);
const watermark = fc.oneof(
  fc.record({ appid: fc.string(), timestamp: fc.oneof(fc.nat(), fc.integer(), anyValue) }),
  anyValue,
);
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: anyValue });

const shapes: Array<[string, new () => object, fc.Arbitrary<Record<string, unknown>>]> = [
  [
    'WxUserInfo',
    WxUserInfo,
    fc.record(
      {
        openId: maybe(fc.string()),
        unionId: maybe(fc.string()),
        nickName: maybe(fc.string()),
        gender: maybe(fc.constantFrom(0, 1, 2, 3)),
        language: maybe(fc.string()),
        city: maybe(fc.string()),
        avatarUrl: maybe(fc.webUrl()),
        watermark,
        extra: anyValue,
      },
      { requiredKeys: [] },
    ),
  ],
  [
    'WxPhoneNumber',
    WxPhoneNumber,
    fc.record(
      {
        phoneNumber: maybe(fc.string()),
        purePhoneNumber: maybe(fc.string()),
        countryCode: maybe(fc.oneof(fc.constant(86), fc.constant('86'), fc.string())),
        watermark,
      },
      { requiredKeys: [] },
    ),
  ],
  [
    'WxWeRunData',
    WxWeRunData,
    fc.record(
      {
        stepInfoList: maybe(
          fc.array(maybe(fc.record({ timestamp: maybe(fc.nat()), step: maybe(fc.nat()) })), { maxLength: 5 }),
        ),
        watermark,
      },
      { requiredKeys: [] },
    ),
  ],
  ['WxShareInfo', WxShareInfo, fc.record({ openGId: maybe(fc.string()), watermark }, { requiredKeys: [] })],
  [
    'a user DTO with each, ValidateIf, IsDefined, nested arrays',
    Exotic,
    fc.record(
      {
        counts: maybe(fc.array(maybe(fc.integer()), { maxLength: 4 })),
        tags: maybe(fc.array(maybe(fc.record({ label: maybe(fc.string()) })), { maxLength: 3 })),
        kind: maybe(fc.constantFrom('tagged', 'plain')),
        notes: maybe(fc.array(maybe(fc.string()), { maxLength: 3 })),
        score: maybe(fc.integer()),
        watermark,
      },
      { requiredKeys: [] },
    ),
  ],
];

describe('compiled validation agrees with class-validator', () => {
  it.each(shapes)(
    '%s: same verdict, same paths, same stripping (seed printed on failure)',
    (_name, type, plain) => {
      fc.assert(
        fc.property(plain, (input) => {
          const compiledInstance = plainToInstance(type, structuredClone(input));
          const referenceInstance = plainToInstance(type, structuredClone(input));
          const compiled = validateCompiled(compiledInstance);
          const errors = validateSync(referenceInstance, { whitelist: true, forbidUnknownValues: true });
          expect(compiled).toBeDefined();
          expect(compiled?.failed).toBe(errors.length > 0);
          expect(compiled?.paths).toEqual(failingPaths(errors));
          expect(JSON.stringify(compiledInstance)).toBe(JSON.stringify(referenceInstance));
        }),
        { seed, numRuns: 400 },
      );
    },
  );

  it('both accept a valid payload of each kind and reject one with a wrong field', () => {
    const ok = plainToInstance(WxShareInfo, { openGId: 'g', watermark: { appid: 'wx', timestamp: 1 } });
    expect(validateCompiled(ok)).toEqual({ failed: false, paths: [] });
    const bad = plainToInstance(WxShareInfo, { openGId: 5, watermark: { appid: 'wx', timestamp: -1 } });
    expect(validateCompiled(bad)).toEqual({ failed: true, paths: ['openGId', 'watermark.timestamp'] });
  });

  it('reports an object whose class has no rules (forbidUnknownValues), like class-validator', () => {
    class NoRules {}
    expect(validateCompiled(new NoRules())).toEqual({ failed: true, paths: [] });
    expect(validateSync(new NoRules(), { forbidUnknownValues: true })).toHaveLength(1);
  });
});
