import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { WxPayloadValidationError } from '../core/index.js';
import { transformCompiled } from './compiled-transform.js';
import { declaredProperties, validateCompiled } from './compiled-validation.js';

/**
 * A class whose instances a decrypted payload can become: class-transformer calls it with no
 * arguments.
 *
 * @public
 */
export type WxPayloadType<T extends object = object> = new () => T;

/**
 * Keys WeChat puts first in its payloads, accepted first even when a DTO of your own leaves them
 * out: `openId`/`unionId` are checked against the session separately.
 */
const LEADING_IDENTITY_KEYS = new Set(['openId', 'unionId']);

/**
 * Turns a decrypted payload into an instance of `type` (class-transformer's `plainToInstance`) and
 * validates it (class-validator's rules): both through per-class compiled plans with the libraries'
 * own results (see compiled-transform.ts and compiled-validation.ts).
 *
 * Undeclared properties are dropped, not refused: WeChat adds fields to its payloads over time and
 * says so, and a new field must not lock users out. Except in first place: AES-CBC lets whoever
 * flips iv bits rewrite the first 16 bytes of plaintext, which hold the first key. Renaming
 * `openId` to something undeclared would make the identity check skip it and the DTO drop it; so
 * the first property must be one the DTO declares (or `openId`/`unionId`).
 *
 * @throws {@link WxPayloadValidationError} naming the failing properties, never their values
 * @public
 */
export function toOpenDataPayload<T extends object>(type: WxPayloadType<T>, plain: object): T {
  const [first] = Object.keys(plain);
  const checkFirst = first !== undefined && !LEADING_IDENTITY_KEYS.has(first);
  const declared = checkFirst ? declaredProperties(type) : undefined;
  if (checkFirst && declared !== undefined && !declared.has(first)) throw undeclaredFirstProperty();
  const instance = transformCompiled(type, plain) ?? plainToInstance(type, plain);
  const compiled = validateCompiled(instance);
  if (compiled !== undefined) {
    if (compiled.failed) throw new WxPayloadValidationError(compiled.paths);
    return instance;
  }
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: true });
  // Without the compiled plan's list of declared properties, whitelisting tells: it strips the rest.
  if (checkFirst && declared === undefined && !Object.hasOwn(instance, first))
    throw undeclaredFirstProperty();
  if (errors.length > 0) throw new WxPayloadValidationError(failingPaths(errors));
  return instance;
}

const undeclaredFirstProperty = (): WxPayloadValidationError =>
  new WxPayloadValidationError(['(first property: not declared)']);

function failingPaths(errors: readonly ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    // class-validator leaves `property` undefined for a failure of the value itself.
    const path = error.property === undefined ? prefix.replace(/\.$/, '') : prefix + error.property;
    const nested = error.children?.length ? failingPaths(error.children, `${path}.`) : [];
    return error.constraints && path !== '' ? [path, ...nested] : nested;
  });
}
