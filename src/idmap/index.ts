export { IdMap, IdMapInconsistencyError, ORIGINAL_ID, type IdMapOptions, type IdMapStats } from './idmap';
export { LruCache } from './lru';
