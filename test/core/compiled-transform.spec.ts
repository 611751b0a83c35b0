import 'reflect-metadata';
import { Exclude, Expose, Transform, Type, plainToInstance } from 'class-transformer';
import fc from 'fast-check';
import { transformCompiled } from '../../lib/payloads/compiled-transform.js';
import { realmClone } from '../support/realm-clone.js';
import {
  WxGroupEnterInfo,
  WxPhoneNumber,
  WxShareInfo,
  WxUserInfo,
  WxWatermark,
  WxWeRunData,
} from '../../lib/index.js';

// The compiled transform must build what class-transformer's plainToInstance builds, to the letter:
// the same classes at every depth, the same keys (skipped, converted or kept), the same values.
// class-transformer itself is the reference; Jest's toStrictEqual compares constructors too.

class Inner {
  label?: unknown;
  get shout(): string {
    return String(this.label).toUpperCase();
  }
  describe(): string {
    return `inner ${String(this.label)}`;
  }
}

class Other {
  other = 'default';
}

class Outer {
  @Type(() => Inner)
  inner?: Inner;

  @Type(() => Inner)
  list?: Inner[];

  @Type(() => Inner)
  set?: Set<Inner>;

  @Type(() => String)
  text?: string;

  @Type(() => Number)
  count?: number;

  @Type(() => Boolean)
  flag?: boolean;

  @Type(() => Date)
  when?: Date;

  // The type depends on the object, as a type function may decide.
  @Type((options) => ((options?.object as { kind?: unknown }).kind === 'other' ? Other : Inner))
  picked?: Inner | Other;

  kind?: unknown;
  tags: unknown = ['initial'];

  get computed(): number {
    return 1;
  }
  set writable(value: unknown) {
    this.kind = value;
  }
  method(): string {
    return 'method';
  }
}

class Child extends Outer {
  // A nearer @Type wins over the parent's.
  @Type(() => Other)
  declare inner?: Inner;
}

const seed = Number(process.env['ADVERSARIAL_SEED'] ?? 20_261_202);
const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant('2026-12-02T00:00:00Z'),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
})).value;
// Keys that class-transformer treats specially: a getter, a setter, a method, Object.prototype's
// own members, and the declared properties.
const key = fc.constantFrom(
  'inner',
  'list',
  'set',
  'text',
  'count',
  'flag',
  'when',
  'picked',
  'kind',
  'tags',
  'computed',
  'writable',
  'method',
  'toString',
  'hasOwnProperty',
  'label',
  'shout',
  'describe',
  'other',
  'free',
);
const plainObject = fc.dictionary(
  key,
  fc.oneof(
    json,
    fc.dictionary(key, json, { maxKeys: 4 }),
    fc.array(fc.dictionary(key, json), { maxLength: 3 }),
  ),
  { maxKeys: 10 },
);

const builtIns: Array<[string, new () => object]> = [
  ['WxUserInfo', WxUserInfo],
  ['WxShareInfo', WxShareInfo],
  ['WxWeRunData', WxWeRunData],
  ['WxWatermark', WxWatermark],
];

/**
 * What an instance is made of, down to every value: each object's class and its own keys in order,
 * arrays and Sets item by item, dates by their time (Jest finds two invalid dates unequal), and
 * numbers by Object.is (-0 is not 0).
 */
function shape(value: unknown): unknown {
  if (value instanceof Date) return { date: String(value.getTime()) };
  if (value instanceof Set) return { set: [...value].map(shape) };
  if (Array.isArray(value))
    return { array: Object.getPrototypeOf(value) === Array.prototype, items: value.map(shape) };
  if (typeof value === 'number') return { number: Object.is(value, -0) ? '-0' : String(value) };
  if (typeof value !== 'object' || value === null) return value;
  const prototype = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
  return {
    class: prototype === null ? null : prototype.constructor,
    own: Reflect.ownKeys(value).map((k) => [
      String(k),
      shape((value as Record<string | symbol, unknown>)[k]),
    ]),
  };
}

/** What a transform gave: the shape of its result, or the error it threw. */
function outcome(run: () => unknown): unknown {
  try {
    return { result: shape(run()) };
  } catch (error) {
    return { threw: error instanceof Error ? [error.constructor.name, error.message] : error };
  }
}

function expectSameAsPlainToInstance(type: new () => object, plain: object): void {
  const reference = outcome(() => plainToInstance(type, realmClone(plain)));
  const input = realmClone(plain);
  const compiled = outcome(() => {
    const instance = transformCompiled(type, input);
    expect(instance).toBeDefined();
    return instance;
  });
  expect(compiled).toEqual(reference);
  // The input is read, never changed.
  expect(input).toStrictEqual(realmClone(plain));
}

describe('compiled transform: the same instances as plainToInstance', () => {
  it.each([['Outer', Outer], ['Child', Child], ...builtIns])(
    '%s, over generated plain objects',
    (_name, type) => {
      fc.assert(
        fc.property(plainObject, (plain) => expectSameAsPlainToInstance(type, plain)),
        { seed, numRuns: 300 },
      );
    },
  );

  it('builds nested classes, converts by @Type, keeps getters, methods and initialisers', () => {
    const plain = {
      inner: { label: 'a', shout: 'x', describe: 'y' },
      list: [{ label: 'b' }, 'text', null],
      set: [{ label: 'c' }],
      text: 12,
      count: '7',
      flag: 0,
      when: '2026-12-02T00:00:00Z',
      kind: 'other',
      picked: { other: 'chosen' },
      computed: 2,
      writable: 'via setter',
      method: 'not a method',
      toString: 'x',
      free: { nested: [1, { deep: true }] },
    };
    const compiled = transformCompiled(Outer, plain) as Outer;
    expect(shape(compiled)).toEqual(shape(plainToInstance(Outer, plain)));
    expect(compiled.inner).toBeInstanceOf(Inner);
    expect(compiled.set).toBeInstanceOf(Set);
    expect(compiled.when).toBeInstanceOf(Date);
    expect(compiled.picked).toBeInstanceOf(Other);
    expect(compiled.count).toBe(7);
    expect(compiled.computed).toBe(1);
    expect(compiled.method()).toBe('method');
    expect(compiled.kind).toBe('via setter');
  });

  it('calls each constructor and type function once per object, as plainToInstance does', () => {
    let constructed = 0;
    let typed = 0;
    class Counted {
      constructor() {
        constructed += 1;
      }
    }
    class Holder {
      @Type(() => {
        typed += 1;
        return Counted;
      })
      items?: Counted[];
    }
    const plain = { items: [{}, {}, {}] };
    transformCompiled(Holder, plain);
    const compiledCounts = [constructed, typed];
    constructed = 0;
    typed = 0;
    plainToInstance(Holder, plain);
    expect(compiledCounts).toEqual([constructed, typed]);
  });

  it('answers undefined for what it does not compile, so plainToInstance runs', () => {
    class Exposed {
      @Expose({ name: 'nick' })
      nickName?: string;
    }
    class Excluded {
      @Exclude()
      secret?: string;
    }
    class Transformed {
      @Transform(({ value }) => String(value).trim())
      name?: string;
    }
    class InheritsTransform extends Transformed {
      other?: string;
    }
    class Discriminated {
      @Type(() => Inner, { discriminator: { property: 'kind', subTypes: [{ name: 'inner', value: Inner }] } })
      item?: Inner;
    }
    // Two built-in DTOs use @Transform: they keep plainToInstance.
    const types: Array<new () => object> = [
      Exposed,
      Excluded,
      Transformed,
      InheritsTransform,
      Discriminated,
      WxPhoneNumber,
      WxGroupEnterInfo,
    ];
    for (const type of types) {
      expect(transformCompiled(type, { nick: 'a', secret: 'b', name: ' c ', item: { kind: 'inner' } })).toBe(
        undefined,
      );
    }
    // Values no JSON text holds: class-transformer guesses types from them, or awaits them.
    for (const value of [new Map([['a', 1]]), new Set([1]), new Inner(), Promise.resolve(1)]) {
      expect(transformCompiled(Outer, { free: value })).toBe(undefined);
    }
    expect(transformCompiled(Outer, { free: Object.create(null) as object })).toBe(undefined);
  });
});
