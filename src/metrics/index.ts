export {
  Metrics,
  errorKind,
  type ExportPosition,
  type IdCacheCounts,
  type JobOutcome,
  type MetricsOptions,
  type ReplicationPosition,
  type SegmentCounts,
} from './metrics';
export { startMetricsServer, type Health, type MetricsServer, type MetricsServerOptions } from './server';
