// Plain JavaScript has no decorator syntax: the bench servers apply Nest's decorators this way.

/** Applies method and parameter decorators to `target[key]` the way TypeScript's output does. */
export function decorateMethod(target, key, decorators, parameterDecorators = []) {
  parameterDecorators.forEach((decorator, index) => decorator(target, key, index));
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, Reflect.decorate(decorators, target, key, descriptor) ?? descriptor);
}
