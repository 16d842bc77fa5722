export type {
  ListOptions,
  PruneOptions,
  PruneResult,
  PutOptions,
  PutResult,
  SegmentAddress,
  SegmentInfo,
  SegmentRange,
  SegmentStore,
  StoreOptions,
  VerifyCorrupt,
  VerifyGap,
  VerifyOptions,
  VerifyOverlap,
  VerifyReport,
} from './types';
export {
  InvalidDbNameError,
  InvalidSegmentRangeError,
  InvalidStoreUrlError,
  RecordConflictError,
  SegmentChecksumError,
  SegmentConflictError,
  SegmentNotFoundError,
  SegmentStoreError,
  StoreClosedError,
  StoreDiskFullError,
  StoreRequestError,
} from './errors';
export { openStore, parseStoreUrl, type OpenStoreOptions, type StoreTarget } from './open';
export { openDirectoryStore, type DirectoryStoreOptions } from './directory';
export { openMemoryStore, MemoryBucket, type MemoryObject, type MemoryStoreOptions } from './memory';
export { openS3Store, type S3ChecksumMode, type S3StoreOptions } from './s3';
export { DEFAULT_RETRY, type RetryOptions } from './retry';
export { formatHead, parseHead, type HeadRecord } from './head-file';
export { MAX_LEVEL, headKey, segmentKey, validateDb } from './keys';
export { ObjectSegmentStore } from './store';
export type { CreateResult, ListPage, ObjectBackend, StoredObject } from './backend';
