// Issue 14's figure: what metrics add to one verified request, in µs of CPU, measured on the
// library's own code: the store operations a verified request makes (session lookup, key attempt
// and its settlement, replay claim), through the measured store handle the module gives its
// services, plus the verification counter, with OpenTelemetry's SDK recording (a MeterProvider
// with a reader, as an app with Prometheus has) against the same calls on the bare store.
//   node bench/metrics.bench.mjs
import * as otel from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { MemoryWxSessionStore } from 'nestjs-wx-open-data';
import { fileURLToPath } from 'node:url';
import { createSessionKey } from 'nestjs-wx-open-data/testing';
// Internal, not exports of the package: the pieces the module wires when metrics are on.
import { instrumentStore } from '../dist/esm/observability/instrumented-store.js';
import { NO_TELEMETRY } from '../dist/esm/observability/telemetry.js';
import { openTelemetryOf } from '../dist/esm/observability/telemetry.js';
import { keyBudgetId } from '../dist/esm/session/session.js';
import { measureRounds, pairedRatio } from './measure.mjs';

/** A reader that only holds the SDK's aggregation, as a pull exporter does between scrapes. */
class HeldReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

export async function runMetricsBench({ rounds = 15, batchMs = 60, warmupMs = 300 } = {}) {
  const provider = new MeterProvider({ readers: [new HeldReader()] });
  otel.metrics.setGlobalMeterProvider(provider);
  const telemetry = openTelemetryOf(otel);
  const appId = 'wx0123456789abcdef';
  const users = Array.from({ length: 64 }, (_, i) => ({
    openid: `o-metrics-${i}`,
    sessionKey: createSessionKey(),
  }));
  const setUp = async (store) => {
    const tokens = [];
    for (const [i, user] of users.entries()) {
      await store.setUserKeys(
        `${appId}:${user.openid}`,
        { sessionKey: user.sessionKey, version: 1 },
        null,
        3600,
      );
      const token = `t${String(i).padStart(42, '0')}`;
      await store.set(token, { openid: user.openid, appId, createdAt: Date.now() }, 3600);
      tokens.push({ token, budget: keyBudgetId(appId, user.openid, user.sessionKey) });
    }
    return tokens;
  };
  const bare = new MemoryWxSessionStore();
  const measured = instrumentStore(new MemoryWxSessionStore(), telemetry);
  const bareTokens = await setUp(bare);
  const measuredTokens = await setUp(measured);
  let n = 0;
  /** The store calls of one verified request, and the verification report. */
  const request = (store, tokens, report) => async () => {
    const { token, budget } = tokens[(n += 1) % tokens.length];
    await store.getSessionWithKeys(token);
    await store.takeKeyAttempt(budget, 5, 3600);
    await Promise.all([store.settleKeyAttempt(budget, true), store.claimPayload(`f${n}`, 1)]);
    report.verification('verified', 'ok', 'http');
  };
  const { ns, samples, spreads } = await measureRounds(
    {
      metrics_off: { fn: request(bare, bareTokens, NO_TELEMETRY), async: true },
      metrics_on: { fn: request(measured, measuredTokens, telemetry), async: true },
    },
    { rounds, batchMs, warmupMs },
  );
  await provider.shutdown();
  return {
    metrics_us_per_verified_request: (ns.metrics_on - ns.metrics_off) / 1000,
    metrics_on_vs_off: pairedRatio(samples.metrics_on, samples.metrics_off),
    ns_per_request: ns,
    spread: spreads,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runMetricsBench(), null, 2));
}
