/**
 * A deep copy of plain data made in this realm. Jest's `structuredClone` builds objects of the
 * outer realm, whose prototype is another `Object.prototype`: class-transformer, and so the
 * compiled transform, treats them as class instances, not as plain JSON.
 */
export function realmClone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(realmClone) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, realmClone(v)])) as T;
}
