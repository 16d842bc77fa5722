// One run in flight at a time; callers that arrive meanwhile share the next run, which
// starts when the current one ends and so covers whatever happened in between. A burst
// of commit notifications costs at most two exports, never one per commit.
export class Coalescer<T> {
  private current: Promise<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(private readonly fn: () => Promise<T>) {}

  /** A run that starts at or after this call. */
  run(): Promise<T> {
    if (this.current === null) return this.start();
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.start();
      });
    return this.next;
  }

  /** Resolves when nothing runs or waits to run. */
  async idle(): Promise<void> {
    while (this.current !== null || this.next !== null) await (this.next ?? this.current)!.catch(() => undefined);
  }

  private start(): Promise<T> {
    const run = this.fn().finally(() => {
      if (this.current === run) this.current = null;
    });
    this.current = run;
    return run;
  }
}
