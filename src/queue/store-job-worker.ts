import { randomUUID } from 'node:crypto';
import { retryDelayMs } from './job-options.js';
import {
  type Job,
  JobAbortedError,
  type JobHandler,
  type JobWorker,
  PRIORITIES,
  type Priority,
  type StopOptions,
} from './job-queue.js';
import type { JobRow, JobsRepository } from './jobs.repository.js';
import { cancelledError, errorText, runAttempt } from './run-attempt.js';

export interface StoreWorkerSettings {
  pollMs: number;
  leaseMs: number;
  keepCompletedMs: number;
  keepFailedMs: number;
  onError: (err: unknown) => void;
}

interface Run {
  id: string;
  token: string;
  controller: AbortController;
  /** When the lease last confirmed runs out (epoch ms). */
  leaseUntil: number;
  /** Lease lost or worker abandoned: this run may no longer record an outcome. */
  detached: boolean;
  done: Promise<void>;
}

/** Stored priority: 0 urgent ... 3 low, so ascending order is run order. */
export function priorityRank(p: Priority): number {
  return PRIORITIES.length - 1 - PRIORITIES.indexOf(p);
}

function priorityName(rank: number): Priority {
  return PRIORITIES[PRIORITIES.length - 1 - rank] ?? 'normal';
}

const CLEANUP_EVERY_MS = 60_000;

/**
 * One `process()` call of the store queue: polls (or is woken), claims jobs up to its concurrency,
 * renews their leases in one statement per beat, and records outcomes under the lease token.
 */
export class StoreJobWorker<T> implements JobWorker {
  private readonly running = new Map<string, Run>();
  private stopping = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private readonly beat: NodeJS.Timeout;
  private nextSweep = 0;
  private nextCleanup = 0;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly repo: JobsRepository,
    readonly queue: string,
    private readonly handler: JobHandler<T>,
    private readonly concurrency: number,
    private readonly s: StoreWorkerSettings,
  ) {
    // Several beats per lease, and at least once a second so a cancel from another node lands soon.
    this.beat = setInterval(() => void this.renew(), Math.max(10, Math.min(s.leaseMs / 3, 1000)));
    this.loop = this.poll();
  }

  /** Look for work now (a job was added or a slot freed). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Aborts the job if it runs here. */
  abort(id: string, reason: JobAbortedError): boolean {
    for (const run of this.running.values()) {
      if (run.id === id) {
        run.controller.abort(reason);
        return true;
      }
    }
    return false;
  }

  stop(opts: StopOptions = {}): Promise<void> {
    this.stopped ??= this.shutdown(opts.abandon === true);
    return this.stopped;
  }

  private async shutdown(abandon: boolean): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
    if (abandon) {
      clearInterval(this.beat);
      for (const run of this.running.values()) {
        run.detached = true;
        run.controller.abort(new JobAbortedError('stopped', 'worker stopped without finishing the job'));
      }
      return;
    }
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
    clearInterval(this.beat);
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      this.woken = false;
      try {
        await this.housekeeping();
        while (!this.stopping && this.running.size < this.concurrency) {
          const token = randomUUID();
          const row = await this.repo.claim(this.queue, token, Date.now(), this.s.leaseMs);
          if (!row) break;
          this.start(row, token);
        }
      } catch (err) {
        this.s.onError(err);
      }
      if (!this.woken && !this.stopping) await this.sleep(this.s.pollMs);
    }
  }

  private async housekeeping(): Promise<void> {
    const now = Date.now();
    if (now >= this.nextSweep) {
      this.nextSweep = now + Math.max(this.s.pollMs, Math.min(this.s.leaseMs / 2, 5000));
      await this.repo.expireLeases(this.queue, now);
    }
    if (now >= this.nextCleanup) {
      this.nextCleanup = now + CLEANUP_EVERY_MS;
      await this.repo.deleteFinished(this.queue, now - this.s.keepCompletedMs, now - this.s.keepFailedMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private start(row: JobRow, token: string): void {
    const run: Run = {
      id: row.id,
      token,
      controller: new AbortController(),
      leaseUntil: row.locked_until ?? 0,
      detached: false,
      done: Promise.resolve(),
    };
    this.running.set(token, run);
    run.done = this.execute(row, run)
      .catch((err) => this.s.onError(err))
      .finally(() => {
        this.running.delete(token);
        this.wake();
      });
  }

  private async execute(row: JobRow, run: Run): Promise<void> {
    let job: Job<T>;
    try {
      job = {
        id: row.id,
        queue: row.queue,
        name: row.name,
        data: JSON.parse(row.data) as T,
        attempt: row.attempt,
        key: row.key,
        priority: priorityName(row.priority),
        enqueuedAt: row.enqueued_at,
      };
    } catch (err) {
      await this.repo.fail(row.queue, row.id, run.token, Date.now(), errorText(err), null);
      return;
    }
    if (row.cancel_requested === 1) run.controller.abort(cancelledError());
    const outcome = await runAttempt(this.handler, job, run.controller, row.timeout_ms);
    if (run.detached) return;
    const now = Date.now();
    if (outcome.ok) {
      await this.repo.complete(row.queue, row.id, run.token, now);
      return;
    }
    const final = outcome.cancelled || row.attempt >= row.attempts;
    const retryAt = final ? null : now + retryDelayMs(row.backoff_ms, row.attempt);
    await this.repo.fail(row.queue, row.id, run.token, now, errorText(outcome.error), retryAt);
  }

  /** Renews every lease held here; aborts runs that lost theirs or were cancelled elsewhere. */
  private async renew(): Promise<void> {
    const runs = [...this.running.values()].filter((r) => !r.detached);
    if (runs.length === 0) return;
    const until = Date.now() + this.s.leaseMs;
    try {
      const rows = await this.repo.renew(
        this.queue,
        runs.map((r) => r.token),
        until,
      );
      const held = new Map(rows.map((r) => [r.lock_token, r.cancel_requested]));
      for (const run of runs) {
        const cancel = held.get(run.token);
        if (cancel === undefined) this.loseLease(run);
        else {
          run.leaseUntil = until;
          if (cancel === 1 && !run.controller.signal.aborted) run.controller.abort(cancelledError());
        }
      }
    } catch (err) {
      this.s.onError(err);
      for (const run of runs) if (Date.now() >= run.leaseUntil) this.loseLease(run);
    }
  }

  private loseLease(run: Run): void {
    // A renewal may race the run's own outcome write; only a run still in flight is affected.
    if (!this.running.has(run.token) || run.detached) return;
    run.detached = true;
    run.controller.abort(new JobAbortedError('lease-lost', 'job lease expired; another worker may run it'));
  }
}
