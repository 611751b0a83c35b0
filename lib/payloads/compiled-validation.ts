import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import { NotCompiled } from './not-compiled.js';

/** class-validator's metadata record; its class is not exported from the package root. */
type ValidationMetadata = ReturnType<
  ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']
>[number];

/**
 * class-validator's `validateSync(object, { whitelist: true, forbidUnknownValues: true })`, with
 * the per-class work done once.
 *
 * On every call class-validator looks up the class's metadata again, and to find inherited rules it
 * walks every class it knows (`prototype instanceof` against each): a cost that grows with the
 * number of DTOs in the app and dominated the decrypt path. Here the lookup happens once per class
 * and schema, and each call only runs the constraint validators, in class-validator's own order and
 * with its own semantics: conditions (`@IsOptional`, `@ValidateIf`) first, `@IsDefined`, the
 * constraints (with `each`), then nested objects and arrays, whitelist stripping, and an error for
 * an object whose class has no rules. Async-only features (`@ValidatePromise`) are not compiled:
 * {@link validateCompiled} answers `undefined` and the caller uses class-validator itself.
 */

/** The outcome: whether anything failed, and the paths that carry a failed constraint. */
export interface CompiledValidationResult {
  failed: boolean;
  paths: string[];
}

interface ConstraintCheck {
  metadata: ValidationMetadata;
  validators: Array<{ validate(value: unknown, args: ValidationArguments): unknown }>;
}

interface PropertyPlan {
  name: string;
  defined: ConstraintCheck[];
  custom: ConstraintCheck[];
  nested: ValidationMetadata[];
  conditional: ValidationMetadata[];
}

interface ClassPlan {
  /** No rules at all: class-validator's "unknown value" (forbidUnknownValues). */
  empty: boolean;
  known: ReadonlySet<string>;
  properties: PropertyPlan[];
}

const plansByClass = new WeakMap<object, Map<string | undefined, ClassPlan | null>>();

/** The code of the one warning emitted when the plan is switched off. */
export const VALIDATION_FALLBACK_WARNING = 'WX_OPEN_DATA_VALIDATION_FALLBACK';

/**
 * Whether this class-validator has the private engine the plan reads: the metadata storage's
 * five-argument `getTargetValidationMetadatas`, `groupByPropertyName` and
 * `getTargetValidatorConstraints`, constraint metadata exposing `instance`, and the
 * `ValidationTypes` it sorts by. Tested against 0.14.0 and the newest 0.15 in CI. When a release
 * changes any of it, the plan is switched off for the process: every DTO then goes through
 * `validateSync` itself (same verdicts, slower), and a Node process warning says so once.
 * Decided on first use, not at import, so a test can alter the storage first.
 */
let engine: 'unknown' | 'compiled' | 'validateSync' = 'unknown';

function compiledEngineAvailable(): boolean {
  if (engine === 'unknown') {
    const missing = missingInternals();
    if (missing.length === 0) engine = 'compiled';
    else switchToValidateSync(missing);
  }
  return engine === 'compiled';
}

/** Switches the plan off for the process, and says so once. */
function switchToValidateSync(missing: readonly string[]): void {
  if (engine === 'validateSync') return;
  engine = 'validateSync';
  // A process warning, not a framework logger: this layer knows nothing of Nest. Node prints it
  // to stderr, and apps can route it (process.on('warning')) or silence it (--no-warnings).
  process.emitWarning(
    `the installed class-validator lacks what nestjs-wx-open-data's compiled validation reads ` +
      `(${missing.join(', ')}): DTOs are validated by validateSync instead, with the same verdicts ` +
      'but slower. Use a class-validator in the peer range (^0.14.0 || ^0.15.0) or a newer ' +
      'nestjs-wx-open-data.',
    { code: VALIDATION_FALLBACK_WARNING },
  );
}

/** The class-validator internals the plan needs that this version does not have. */
function missingInternals(): string[] {
  const storage = getMetadataStorage() as unknown as Record<string, unknown>;
  const missing: string[] = [];
  const method = (name: string, minArity: number): void => {
    const fn = storage[name];
    if (typeof fn !== 'function' || fn.length < minArity) missing.push(`MetadataStorage.${name}`);
  };
  method('getTargetValidationMetadatas', 5);
  method('groupByPropertyName', 1);
  method('getTargetValidatorConstraints', 1);
  const types = ValidationTypes as unknown as Record<string, unknown>;
  for (const name of [
    'CUSTOM_VALIDATION',
    'NESTED_VALIDATION',
    'PROMISE_VALIDATION',
    'CONDITIONAL_VALIDATION',
    'WHITELIST',
    'IS_DEFINED',
  ]) {
    if (typeof types[name] !== 'string') missing.push(`ValidationTypes.${name}`);
  }
  return missing;
}

/**
 * Validates `instance` like `validateSync(instance, { whitelist: true, forbidUnknownValues: true })`
 * (stripping undeclared properties in place), or returns `undefined` when a class it reaches uses
 * a feature that is not compiled.
 */
export function validateCompiled(instance: object): CompiledValidationResult | undefined {
  if (!compiledEngineAvailable()) return undefined;
  const paths: string[] = [];
  try {
    const failed = validateObject(instance, undefined, '', paths);
    return { failed, paths };
  } catch (error) {
    if (error instanceof NotCompiled) return undefined;
    throw error;
  }
}

/**
 * The properties `type` declares a rule for (what whitelisting keeps), or `undefined` when the
 * compiled plan is switched off (the caller then asks `validateSync`'s whitelisting).
 */
export function declaredProperties(type: object): ReadonlySet<string> | undefined {
  if (!compiledEngineAvailable()) return undefined;
  try {
    return planFor(type, undefined).known;
  } catch (error) {
    if (!(error instanceof NotCompiled)) throw error;
    if (engine === 'validateSync') return undefined;
    const metadatas = getMetadataStorage().getTargetValidationMetadatas(type as () => void, '', false, false);
    return new Set(metadatas.map((m) => m.propertyName));
  }
}

function planFor(target: object, schema: string | undefined): ClassPlan {
  let bySchema = plansByClass.get(target);
  if (bySchema === undefined) {
    bySchema = new Map();
    plansByClass.set(target, bySchema);
  }
  let plan = bySchema.get(schema);
  if (plan === undefined) {
    plan = compilePlan(target, schema);
    bySchema.set(schema, plan);
  }
  if (plan === null) throw new NotCompiled();
  return plan;
}

function compilePlan(target: object, schema: string | undefined): ClassPlan | null {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(
    target as () => void,
    schema as string,
    false,
    false,
    undefined,
  );
  if (metadatas.some((m) => m.type === ValidationTypes.PROMISE_VALIDATION)) return null;
  const grouped = storage.groupByPropertyName(metadatas);
  let instancesReadable = true;
  const checks = (list: ValidationMetadata[]): ConstraintCheck[] =>
    list.map((metadata) => ({
      metadata,
      // validateSync skips async constraints; so do we.
      validators: storage
        .getTargetValidatorConstraints(metadata.constraintCls)
        .filter((constraint) => !constraint.async)
        .map((constraint) => {
          const instance = (constraint as { instance?: ConstraintCheck['validators'][number] }).instance;
          if (typeof instance?.validate !== 'function') instancesReadable = false;
          return instance as ConstraintCheck['validators'][number];
        }),
    }));
  const properties = Object.entries(grouped).map(([name, list]): PropertyPlan => {
    const rest = list.filter(
      (m) => m.type !== ValidationTypes.IS_DEFINED && m.type !== ValidationTypes.WHITELIST,
    );
    return {
      name,
      defined: checks(list.filter((m) => m.type === ValidationTypes.IS_DEFINED)),
      custom: checks(rest.filter((m) => m.type === ValidationTypes.CUSTOM_VALIDATION)),
      nested: rest.filter((m) => m.type === ValidationTypes.NESTED_VALIDATION),
      conditional: rest.filter((m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION),
    };
  });
  if (!instancesReadable) {
    switchToValidateSync(['ConstraintMetadata.instance']);
    throw new NotCompiled();
  }
  return {
    empty: metadatas.length === 0,
    known: new Set(properties.filter((p) => grouped[p.name]?.length).map((p) => p.name)),
    properties,
  };
}

/** class-validator's `execute`; returns whether anything failed. */
function validateObject(
  object: object,
  schema: string | undefined,
  prefix: string,
  paths: string[],
): boolean {
  const plan = planFor(object.constructor, schema);
  if (plan.empty) {
    // The "unknown value" error has no property: it is reported at the enclosing path.
    const path = prefix.replace(/\.$/, '');
    if (path !== '') paths.push(path);
    return true;
  }
  const record = object as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!plan.known.has(key)) delete record[key];
  let failed = false;
  for (const property of plan.properties) {
    const value = record[property.name];
    failed = validateValue(object, value, property.name, property, prefix, paths) || failed;
  }
  return failed;
}

/** class-validator's `performValidations`. */
function validateValue(
  object: object,
  value: unknown,
  propertyName: string,
  property: Omit<PropertyPlan, 'name'>,
  prefix: string,
  paths: string[],
): boolean {
  const path = prefix + propertyName;
  let canValidate = true;
  for (const condition of property.conditional) {
    const test = condition.constraints[0] as (object: object, value: unknown) => boolean;
    canValidate = test(object, value) && canValidate;
  }
  if (!canValidate) return false;
  let failed = runChecks(object, value, property.defined);
  failed = runChecks(object, value, property.custom) || failed;
  const childPaths: string[] = [];
  let childFailed = false;
  if (value !== undefined) {
    for (const metadata of property.nested) {
      if (Array.isArray(value) || value instanceof Set || value instanceof Map) {
        const items = value instanceof Set ? Array.from(value) : value;
        // As in class-validator, each element goes through all the property's nested rules.
        const element = { defined: [], custom: [], nested: property.nested, conditional: [] };
        items.forEach((item: unknown, index: unknown) => {
          childFailed =
            validateValue(value, item, String(index), element, `${path}.`, childPaths) || childFailed;
        });
      } else if (value instanceof Object) {
        const schema = typeof metadata.target === 'string' ? metadata.target : metadata.target.name;
        childFailed = validateObject(value, schema, `${path}.`, childPaths) || childFailed;
      } else {
        failed = true;
      }
    }
  }
  if (failed) paths.push(path);
  paths.push(...childPaths);
  return failed || childFailed;
}

/** class-validator's `customValidations`: whether any constraint failed. */
function runChecks(object: object, value: unknown, checks: ConstraintCheck[]): boolean {
  let failed = false;
  for (const { metadata, validators } of checks) {
    if (metadata.validateIf && !metadata.validateIf(object, value)) continue;
    const args: ValidationArguments = {
      targetName: object.constructor ? object.constructor.name : '',
      property: metadata.propertyName,
      object,
      value,
      constraints: metadata.constraints,
    };
    for (const validator of validators) {
      if (!metadata.each || !(Array.isArray(value) || value instanceof Set || value instanceof Map)) {
        // A promise is only awaited by the async validate(); validateSync records no failure.
        const result = validator.validate(value, args);
        if (!isPromiseLike(result) && !result) failed = true;
        continue;
      }
      const items =
        value instanceof Map ? Array.from(value.values()) : Array.from(value as Iterable<unknown>);
      const results = items.map((item) => validator.validate(item, args));
      if (!results.some(isPromiseLike) && !results.every(Boolean)) failed = true;
    }
  }
  return failed;
}

function isPromiseLike(value: unknown): boolean {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  );
}
