// The restore settings both replica modes take from the configuration.
import type { SegmentCodec } from '../segment/codec';
import type { ReplicaRestoreOptions } from '../restore/restorer';
import type { CliContext } from './context';

/** Restore options from the configuration: the mode and its batch sizes, the id cache (remap), the codec. */
export function restorerOptions(ctx: CliContext, codec: SegmentCodec): ReplicaRestoreOptions {
  const { config } = ctx;
  const mode = config.mode ?? 'remap';
  return {
    mode,
    batchTxns: config.batchTxns,
    ...(mode === 'remap' ? { idMap: { cacheSize: config.idCacheSize } } : { bulkLoadMinTxns: config.bulkLoadMinTxns }),
    codec,
    logger: ctx.logger,
  };
}
