import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { NotCompiled } from './not-compiled.js';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * class-transformer's `plainToInstance(type, plain)` (default options), with the per-class work
 * done once.
 *
 * For every key of every object, class-transformer looks its metadata up again: exposed,
 * excluded and custom-transform rules and the `@Type` of the property, each lookup walking the
 * class's ancestors and filtering arrays. That was about half of the DTO step (5 µs of 9 µs for
 * `WxUserInfo`). Here a class is read once: when neither it nor an ancestor carries `@Expose`,
 * `@Exclude` or `@Transform`, and no `@Type` of theirs uses a discriminator, what
 * `plainToInstance` does reduces to a walk with one map lookup per key, which is what
 * {@link transformCompiled} runs, step for step in class-transformer 0.5.1's order (the same
 * constructors and type functions called with the same arguments, the same keys skipped, the same
 * conversions). Anything else (those decorators, Maps, Sets, promises, class instances or
 * null-prototype objects in the input) answers `undefined`, and the caller runs
 * `plainToInstance` itself. Decrypted payloads are plain JSON, so they never need it.
 *
 * A walk that meets such a value half-way has already run the constructors and type functions
 * before it; `plainToInstance` then runs them again. Only side effects in them could tell.
 */

/** class-transformer's `@Type` record. */
interface TypeMetadata {
  typeFunction?: (options: {
    newObject: unknown;
    object: Record<string, unknown>;
    property: string;
  }) => unknown;
  reflectedType?: unknown;
  options?: { discriminator?: unknown };
}

type MetadataMaps = Record<
  '_typeMetadatas' | '_transformMetadatas' | '_exposeMetadatas' | '_excludeMetadatas',
  Map<unknown, Map<unknown, unknown>>
>;

type Constructor = new () => object;

/** A class that compiles: the `@Type` of each property, its own or inherited (nearest wins). */
interface ClassPlan {
  types: ReadonlyMap<string, TypeMetadata>;
}

/** The code of the one warning emitted when the compiled transform is switched off. */
export const TRANSFORM_FALLBACK_WARNING = 'WX_OPEN_DATA_TRANSFORM_FALLBACK';

const plans = new WeakMap<object, ClassPlan | null>();

/**
 * The storage's four metadata maps, or why they cannot be read: decided on first use. A storage
 * without them (another class-transformer release), or one that is not the instance the
 * decorators write to (a bundler that resolved class-transformer's ESM build for the decorators
 * and this CommonJS path for us), switches the compiled transform off for the process: every DTO
 * then goes through `plainToInstance` (same result, slower), and a Node process warning says so
 * once. The second case shows as our own `WxOpenDataPayload.watermark` having no `@Type` here.
 */
let maps: MetadataMaps | null | undefined;

function metadataMaps(): MetadataMaps | null {
  if (maps !== undefined) return maps;
  const storage = defaultMetadataStorage as Partial<Record<keyof MetadataMaps, unknown>> | undefined;
  const names = ['_typeMetadatas', '_transformMetadatas', '_exposeMetadatas', '_excludeMetadatas'] as const;
  const missing = names
    .filter((name) => !(storage?.[name] instanceof Map))
    .map((n) => `MetadataStorage.${n}`);
  if (missing.length === 0) {
    const types = (storage as MetadataMaps)._typeMetadatas;
    if (types.get(WxOpenDataPayload)?.get('watermark') === undefined) {
      missing.push('the metadata of its decorators is elsewhere: a second copy of class-transformer?');
    }
  }
  if (missing.length === 0) return (maps = storage as MetadataMaps);
  process.emitWarning(
    `nestjs-wx-open-data's compiled transform cannot read class-transformer's metadata ` +
      `(${missing.join(', ')}): payloads become DTOs through plainToInstance instead, with the ` +
      'same result but slower. Use class-transformer ^0.5.1 from one installation.',
    { code: TRANSFORM_FALLBACK_WARNING },
  );
  return (maps = null);
}

/**
 * `plainToInstance(type, plain)` with class-transformer's default options, or `undefined` when
 * a class or a value it reaches is not compiled (the caller then runs `plainToInstance`).
 */
export function transformCompiled<T extends object>(type: new () => T, plain: object): T | undefined {
  if (metadataMaps() === null) return undefined;
  try {
    return toClass(plain, type, undefined) as T;
  } catch (error) {
    if (error instanceof NotCompiled) return undefined;
    throw error;
  }
}

/**
 * Forgets the storage check, so that the next call makes it again: for tests that alter the storage.
 *
 * @internal
 */
export function resetCompiledTransform(): void {
  maps = undefined;
}

/** class-transformer's ancestors of a class: each parent constructor up to the root. */
function lineage(target: Constructor): unknown[] {
  const chain: unknown[] = [target];
  for (
    let base = Object.getPrototypeOf(target.prototype.constructor) as {
      prototype?: { constructor: unknown };
    };
    base.prototype !== undefined;
    base = Object.getPrototypeOf(base.prototype.constructor) as { prototype?: { constructor: unknown } }
  ) {
    chain.push(base);
  }
  return chain;
}

function planFor(target: Constructor, storage: MetadataMaps): ClassPlan {
  let plan = plans.get(target);
  if (plan === undefined) {
    plan = compilePlan(target, storage);
    plans.set(target, plan);
  }
  if (plan === null) throw new NotCompiled();
  return plan;
}

function compilePlan(target: Constructor, storage: MetadataMaps): ClassPlan | null {
  if (typeof target.prototype !== 'object' || target.prototype === null) return null;
  const chain = lineage(target);
  const decorated = (map: Map<unknown, Map<unknown, unknown>>): boolean =>
    chain.some((cls) => (map.get(cls)?.size ?? 0) > 0);
  if (
    decorated(storage._exposeMetadatas) ||
    decorated(storage._excludeMetadatas) ||
    decorated(storage._transformMetadatas)
  ) {
    return null;
  }
  const types = new Map<string, TypeMetadata>();
  // Farthest ancestor first, so that a nearer class's `@Type` of the same property wins.
  for (const cls of [...chain].reverse()) {
    for (const [property, metadata] of storage._typeMetadatas.get(cls) ?? []) {
      const record = metadata as TypeMetadata;
      if (typeof property !== 'string' || record.options?.discriminator !== undefined) return null;
      types.set(property, record);
    }
  }
  return { types };
}

/** class-transformer's `instantiateArrayType`. */
function newArray(arrayType: Constructor): unknown[] | Set<unknown> {
  const array = new arrayType() as unknown[] | Set<unknown>;
  return array instanceof Set || 'push' in array ? array : [];
}

/**
 * class-transformer's `transform(undefined, value, targetType, arrayType, isMap)` in the plain-to-
 * class direction, for what compiles.
 */
function toClass(value: unknown, targetType: unknown, arrayType: unknown, isMap = false): unknown {
  if (isMap || value instanceof Set || value instanceof Map) throw new NotCompiled();
  if (Array.isArray(value)) {
    const array = arrayType ? newArray(arrayType as Constructor) : [];
    value.forEach((item: unknown) => {
      const transformed = toClass(item, targetType, undefined, item instanceof Map);
      if (array instanceof Set) array.add(transformed);
      else array.push(transformed);
    });
    return array;
  }
  if (targetType === String) return value === null || value === undefined ? value : String(value);
  if (targetType === Number) return value === null || value === undefined ? value : Number(value);
  if (targetType === Boolean) return value === null || value === undefined ? value : Boolean(value);
  if (targetType === Date || value instanceof Date) {
    if (value instanceof Date) return new Date(value.valueOf());
    return value === null || value === undefined ? value : new Date(value as string | number);
  }
  if (targetType === Buffer || value instanceof Buffer) {
    return value === null || value === undefined ? value : Buffer.from(value as string);
  }
  if (typeof value !== 'object' || value === null) return value;
  // Only plain objects, whose `constructor` is Object's own: anything else makes class-transformer
  // guess a type from it, or is a promise.
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.hasOwn(value, 'constructor')) {
    throw new NotCompiled();
  }
  if (typeof (value as { then?: unknown }).then === 'function') throw new NotCompiled();
  return toInstance(value as Record<string, unknown>, targetType);
}

/** The object branch of class-transformer's `transform`, for a plain object. */
function toInstance(value: Record<string, unknown>, targetType: unknown): object {
  let plan: ClassPlan | undefined;
  let instance: Record<string, unknown>;
  if (targetType) {
    if (typeof targetType !== 'function') throw new NotCompiled();
    plan = planFor(targetType as Constructor, maps as MetadataMaps);
    instance = new (targetType as Constructor)() as Record<string, unknown>;
  } else {
    instance = {};
  }
  const owner: unknown = instance.constructor;
  if (typeof owner !== 'function') throw new NotCompiled();
  const ownerPrototype = (owner as { prototype?: object }).prototype;
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor') continue;
    const item = value[key];
    let type: unknown;
    let itemIsMap = item instanceof Map;
    const metadata = plan?.types.get(key);
    if (metadata !== undefined) {
      type = metadata.typeFunction
        ? metadata.typeFunction({ newObject: instance, object: value, property: key })
        : metadata.reflectedType;
      itemIsMap = itemIsMap || metadata.reflectedType === Map;
    }
    const arrayType = Array.isArray(item) ? metadata?.reflectedType : undefined;
    // A read-only accessor or a method of the class is never overwritten.
    if (ownerPrototype) {
      const descriptor = Object.getOwnPropertyDescriptor(ownerPrototype, key);
      if ((descriptor && !descriptor.set) || instance[key] instanceof Function) continue;
    }
    // exposeUnsetFields is on by default: an undefined result is assigned too.
    instance[key] = toClass(item, type, arrayType, itemIsMap);
  }
  return instance;
}
