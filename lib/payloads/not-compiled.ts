/**
 * Thrown inside a compiled plan (compiled-transform.ts, compiled-validation.ts) that meets what it
 * does not compile; caught at the plan's entry point, which then answers `undefined` so that the
 * caller runs the library itself. Never thrown out of a plan.
 *
 * @internal
 */
export class NotCompiled extends Error {}
