import { Controller, Get, Module, Req, Res } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WxOpenDataHealthIndicator } from 'nestjs-wx-open-data/terminus';

/**
 * The app's OpenTelemetry SDK: a meter provider with a Prometheus reader, registered before the
 * Nest app boots (WxOpenDataModule takes its meter at start-up). The reader does not open a port
 * of its own: `GET /metrics` below serves its text.
 */
export const prometheus = new PrometheusExporter({ preventServerStart: true });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));

@Controller()
class ObservabilityController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly wx: WxOpenDataHealthIndicator,
  ) {}

  /** 200 while the session store answers and access tokens can be had; 503 otherwise. */
  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.wx.isHealthy('wechat')]);
  }

  /** Prometheus text format: the library's counters and histograms. */
  @Get('metrics')
  scrape(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    prometheus.getMetricsRequestHandler(request, response);
  }
}

/** `/health` (terminus) and `/metrics` (Prometheus) for the sample. */
@Module({
  imports: [TerminusModule],
  controllers: [ObservabilityController],
  providers: [WxOpenDataHealthIndicator],
})
export class ObservabilityModule {}
