/** Rows the relay hands to the queue per pass. */
const RELAY_BATCH = 200;

/** A transactional outbox table: rows written with the events they follow, then relayed. */
export interface OutboxSource<R extends { id: string }> {
  /** Up to `limit` rows not yet handed to the queue, oldest first. */
  unqueued(limit: number): Promise<R[]>;
  markQueued(ids: readonly string[]): Promise<void>;
}

export interface OutboxRelayOptions {
  /** Ms between passes that catch rows a nudge missed (a crash, another node's commit); 0: nudges only. */
  intervalMs: number;
}

/**
 * Hands the rows of a transactional outbox (bridges' outgoing messages, webhook deliveries) to the
 * job queue. `enqueue` must add each row under a job id made from the row, so a relay that runs
 * twice (two nodes, a crash between adding and marking) adds each job once. Passes never overlap;
 * a nudge during a pass runs another one after it.
 */
export class OutboxRelay<R extends { id: string }> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly source: OutboxSource<R>,
    /** Adds the rows' jobs, in the order given. */
    private readonly enqueue: (rows: R[]) => Promise<void>,
    private readonly opts: OutboxRelayOptions,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.opts.intervalMs > 0) {
      this.timer = setInterval(() => this.nudge(), this.opts.intervalMs);
      this.timer.unref();
    }
    this.nudge();
  }

  /** Runs the relay soon (after this node committed new rows). */
  nudge(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.relay()
      .then(() => {}, this.onError)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.nudge();
        }
      });
  }

  /** Hands every unqueued row to the queue; resolves with how many, when none is left. */
  async relay(): Promise<number> {
    let n = 0;
    for (;;) {
      const rows = await this.source.unqueued(RELAY_BATCH);
      await this.enqueue(rows);
      await this.source.markQueued(rows.map((r) => r.id));
      n += rows.length;
      if (rows.length < RELAY_BATCH || this.closed) return n;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
