/**
 * A store's TTL in seconds as milliseconds, the same in every store: 0 (or less) means "remove
 * now"; a positive TTL is at least 1 ms. A NaN or infinite TTL would be an entry that never
 * expires (or a Redis error later), so it is a RangeError naming the store.
 *
 * @internal
 */
export function ttlMilliseconds(store: string, ttlSeconds: number): number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds)) throw finiteTtlError(store);
  return ttlSeconds <= 0 ? 0 : Math.max(1, Math.round(ttlSeconds * 1000));
}

/** The error of a TTL that is not a finite number. @internal */
export function finiteTtlError(store: string): RangeError {
  return new RangeError(`${store}: ttlSeconds must be a finite number`);
}
