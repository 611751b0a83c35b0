export { NO_TELEMETRY, WX_METRIC_NAMES, type WxTelemetry } from './telemetry.js';
