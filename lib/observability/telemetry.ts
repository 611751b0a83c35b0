/**
 * What the library reports to an operator: counts and durations only. No attribute ever carries
 * a secret, a token, an openid or a unionid; the attribute values are the library's own words
 * (reason codes, operation names, errcodes), so their cardinality is small and fixed.
 *
 * Framework-free: the WeChat client, the stores' callers and the Nest layer all report here.
 *
 * @public
 */
export interface WxTelemetry {
  /**
   * A `@WxVerified()` call was let through (`reason` `'ok'`) or refused (`reason` the answer's
   * code, e.g. `WX_OPEN_DATA_REJECTED`, `WX_SESSION_REQUIRED`); `context` is `http`, `graphql`
   * or `ws`.
   */
  verification(outcome: 'verified' | 'rejected', reason: string, context: string): void;
  /** A login finished: `result` `'ok'`, or the WeChat errcode or failure kind that ended it. */
  login(result: string): void;
  /** One WeChat server call (retries included): its operation, duration and outcome. */
  wechatCall(operation: string, durationMs: number, outcome: string): void;
  /** An encrypted payload was refused as a replay. */
  replayRefused(): void;
  /** A key-attempt budget refused an evaluation: `busy` (attempts in flight) or `spent`. */
  keyBudgetRefused(verdict: string): void;
  /** One session-store operation: its name, duration and whether the store answered. */
  storeCall(operation: string, durationMs: number, answered: boolean): void;
}

/** The telemetry of an app that asked for none: every report is dropped. */
export const NO_TELEMETRY: WxTelemetry = Object.freeze({
  verification: () => undefined,
  login: () => undefined,
  wechatCall: () => undefined,
  replayRefused: () => undefined,
  keyBudgetRefused: () => undefined,
  storeCall: () => undefined,
});

/** Instrument names, in OpenTelemetry's dotted style; units follow its semantic conventions. */
export const WX_METRIC_NAMES = Object.freeze({
  verifications: 'wx_open_data.verifications',
  logins: 'wx_open_data.logins',
  wechatCallDuration: 'wx_open_data.wechat.call.duration',
  replayRefusals: 'wx_open_data.replay.refusals',
  keyBudgetRefusals: 'wx_open_data.key_budget.refusals',
  storeCallDuration: 'wx_open_data.store.call.duration',
  storeOutages: 'wx_open_data.store.outages',
});

/** The part of `@opentelemetry/api` this file uses, so the package's types never need it. */
interface OtelCounter {
  add(value: number, attributes?: Record<string, string>): void;
}
interface OtelHistogram {
  record(value: number, attributes?: Record<string, string>): void;
}
interface OtelMeter {
  createCounter(name: string, options?: { description?: string; unit?: string }): OtelCounter;
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): OtelHistogram;
}
interface OtelApi {
  metrics: { getMeter(name: string, version?: string): OtelMeter };
}

/** Buckets in seconds: store calls live in the sub-millisecond range, WeChat calls in the 10 ms–5 s one. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const WECHAT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Telemetry on the OpenTelemetry metrics API: the app's registered meter provider receives the
 * measurements (none registered: the API's own no-op). Instruments are created once, here.
 *
 * @internal
 */
export function openTelemetryOf(api: OtelApi): WxTelemetry {
  const meter = api.metrics.getMeter('nestjs-wx-open-data');
  const verifications = meter.createCounter(WX_METRIC_NAMES.verifications, {
    description: '@WxVerified() calls, by outcome, reason code and context',
  });
  const logins = meter.createCounter(WX_METRIC_NAMES.logins, {
    description: 'Logins (code2Session), by result: ok or the errcode that ended them',
  });
  const wechatCalls = meter.createHistogram(WX_METRIC_NAMES.wechatCallDuration, {
    description: 'WeChat server API calls, retries included, by operation and outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: WECHAT_BUCKETS },
  });
  const replays = meter.createCounter(WX_METRIC_NAMES.replayRefusals, {
    description: 'Encrypted payloads refused as replays',
  });
  const budgets = meter.createCounter(WX_METRIC_NAMES.keyBudgetRefusals, {
    description: 'Key evaluations refused by the key-attempt budget, by verdict',
  });
  const storeCalls = meter.createHistogram(WX_METRIC_NAMES.storeCallDuration, {
    description: 'Session store operations, by operation and whether the store answered',
    unit: 's',
    advice: { explicitBucketBoundaries: STORE_BUCKETS },
  });
  const outages = meter.createCounter(WX_METRIC_NAMES.storeOutages, {
    description: 'Session store operations that found the store unavailable',
  });
  return Object.freeze({
    verification: (outcome, reason, context) => verifications.add(1, { outcome, reason, context }),
    login: (result) => logins.add(1, { result }),
    wechatCall: (operation, durationMs, outcome) =>
      wechatCalls.record(durationMs / 1000, { operation, outcome }),
    replayRefused: () => replays.add(1),
    keyBudgetRefused: (verdict) => budgets.add(1, { verdict }),
    storeCall: (operation, durationMs, answered) => {
      storeCalls.record(durationMs / 1000, { operation, answered: answered ? 'true' : 'false' });
      if (!answered) outages.add(1, { operation });
    },
  } satisfies WxTelemetry);
}

/**
 * Loads `@opentelemetry/api` (an optional peer) and returns telemetry on it.
 *
 * @throws Error naming the package to install when it is missing
 * @internal
 */
export async function loadOpenTelemetry(): Promise<WxTelemetry> {
  let api: OtelApi;
  try {
    api = (await import('@opentelemetry/api')) as unknown as OtelApi;
  } catch {
    throw new Error(
      'metrics: true needs the optional peer @opentelemetry/api: npm install @opentelemetry/api',
    );
  }
  return openTelemetryOf(api);
}
