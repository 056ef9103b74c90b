export interface GroupCommitOptions {
  /** Most items per transaction. @default 256 */
  maxBatch: number;
  /** Longest an item waits (ms) for others to join its transaction. @default 2 */
  maxWaitMs: number;
}

/** Per-item outcome of a batch, so one bad item does not fail the others. */
export type ItemResult<O> = { ok: true; value: O } | { ok: false; error: unknown };

type Pending<I, O> = { item: I; resolve: (o: O) => void; reject: (e: unknown) => void };

/**
 * Group commit: concurrent submissions are gathered and written by one `flush` call (one transaction),
 * which pays for one fsync/round-trip set instead of one per item. Batches run one at a time; items
 * arriving meanwhile form the next batch, so under load batches grow on their own.
 * If a whole batch fails, its items are retried one by one so only the faulty item fails.
 */
export class GroupCommitter<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<ItemResult<O>[]>,
    private readonly opts: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('group committer is closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for queued items to commit, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.running) {
      if (!this.running) void this.run();
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private schedule(): void {
    if (this.running) return; // the running batch picks the queue up when it ends
    if (this.queue.length >= this.opts.maxBatch || this.opts.maxWaitMs === 0) {
      void this.run();
    } else {
      this.timer ??= setTimeout(() => void this.run(), this.opts.maxWaitMs);
    }
  }

  private async run(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    try {
      await this.commit(batch);
    } finally {
      this.running = false;
      if (this.queue.length > 0) {
        // Items that queued while we were committing have already waited: go now.
        setImmediate(() => void this.run());
      }
    }
  }

  private async commit(batch: Pending<I, O>[]): Promise<void> {
    let results: ItemResult<O>[];
    try {
      results = await this.flush(batch.map((p) => p.item));
    } catch (batchError) {
      if (batch.length === 1) {
        batch[0]!.reject(batchError);
        return;
      }
      results = [];
      for (const p of batch) {
        try {
          const [r] = await this.flush([p.item]);
          results.push(r ?? { ok: false, error: new Error('flush returned no result') });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (!r) p.reject(new Error('flush returned too few results'));
      else if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    });
  }
}
