// A run of failures and its end: the services log when they recover, and how long it took
// (a database or store that was unavailable, a restart).
import type { Logger } from '../logger';

export class Outage {
  private since: number | null = null;
  private failures = 0;

  /** Notes a failure; the first of a run starts the clock. */
  failed(): void {
    this.since ??= Date.now();
    this.failures++;
  }

  /** Notes a success; after failures, logs the recovery with the time since the first. */
  succeeded(logger: Logger, fields: object, message: string): void {
    if (this.since === null) return;
    logger.warn({ ...fields, failures: this.failures, recoveredAfterMs: Date.now() - this.since }, message);
    this.since = null;
    this.failures = 0;
  }
}
