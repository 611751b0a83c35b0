import { performance } from 'node:perf_hooks';
import { WxSessionStoreUnavailableError, type WxSessionStore } from '../session/index.js';
import type { WxTelemetry } from './telemetry.js';

/** The store's own operations; `connect` and `close` are lifecycle, not traffic. */
const MEASURED = new Set([
  'get',
  'set',
  'delete',
  'getUserKeys',
  'setUserKeys',
  'getSessionWithKeys',
  'claimPayload',
  'takeKeyAttempt',
  'settleKeyAttempt',
  'recordKeyFailure',
  'readAccessToken',
  'writeAccessToken',
  'lockAccessTokenRefresh',
  'clockMicros',
  'ping',
]);

/**
 * `store` with the duration and outcome of each operation reported to `telemetry`. The methods
 * run on the store itself (not on the proxy), so its own fields are read at full speed, and it
 * is still an instance of its class for `instanceof` checks and injection.
 *
 * @internal
 */
export function instrumentStore<S extends WxSessionStore>(store: S, telemetry: WxTelemetry): S {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      let wrapper = wrappers.get(property);
      if (wrapper === undefined) {
        wrapper =
          typeof property === 'string' && MEASURED.has(property)
            ? measured(target, property, value as (...args: unknown[]) => Promise<unknown>, telemetry)
            : (value as (...args: unknown[]) => unknown).bind(target);
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}

function measured(
  target: object,
  operation: string,
  method: (...args: unknown[]) => Promise<unknown>,
  telemetry: WxTelemetry,
): (...args: unknown[]) => Promise<unknown> {
  return (...args) => {
    const startedAt = performance.now();
    return method.apply(target, args).then(
      (result) => {
        telemetry.storeCall(operation, performance.now() - startedAt, true);
        return result;
      },
      (error: unknown) => {
        // Only an unavailable store is an outage; a refused argument is the caller's mistake.
        const answered = !(error instanceof WxSessionStoreUnavailableError);
        telemetry.storeCall(operation, performance.now() - startedAt, answered);
        throw error;
      },
    );
  };
}
