export { LibraryWorkload, prng, SCHEMA_STAGES, type WorkloadOptions } from './library';
