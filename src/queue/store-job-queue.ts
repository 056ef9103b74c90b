import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Dialect } from '../store/create-database.js';
import type { Database } from '../store/database.js';
import { checkConcurrency, checkName, resolveJobOptions } from './job-options.js';
import type {
  JobCounts,
  JobHandler,
  JobOptions,
  JobQueue,
  JobStatus,
  JobWorker,
  ProcessOptions,
} from './job-queue.js';
import { JobsRepository } from './jobs.repository.js';
import { cancelledError } from './run-attempt.js';
import { priorityRank, StoreJobWorker } from './store-job-worker.js';

export interface StoreJobQueueOptions {
  /** How often an idle worker looks for due jobs, in ms (jobs added in this process wake it at once). @default 1000 */
  pollMs?: number;
  /**
   * Lease of a running job, in ms. The worker renews it while the handler runs; if the worker dies, the
   * job is taken over by another worker once the lease is over. @default 30_000
   */
  leaseMs?: number;
  /** How long completed jobs are kept (for counts and status), in ms. @default 3_600_000 (1 h) */
  keepCompletedMs?: number;
  /** How long failed jobs are kept, with their error text, in ms. @default 604_800_000 (7 days) */
  keepFailedMs?: number;
  /** Errors of the background loops (store unreachable, ...); they retry on their own. @default ignored */
  onError?: (err: unknown) => void;
}

/** What the queue needs of the store: its Kysely instance and engine (a `Store` fits). */
export interface JobStore {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
}

/**
 * The embedded job queue: a durable `jobs` table in the store (SQLite or PostgreSQL). Any number of
 * processes sharing the store may run workers; they claim jobs with leases.
 */
export class StoreJobQueue implements JobQueue {
  private readonly repo: JobsRepository;
  private readonly workers = new Set<StoreJobWorker<never>>();
  private readonly settings: Required<StoreJobQueueOptions>;
  private closed = false;

  constructor(store: JobStore, opts: StoreJobQueueOptions = {}) {
    this.repo = new JobsRepository(store.db, store.dialect);
    this.settings = {
      pollMs: opts.pollMs ?? 1000,
      leaseMs: opts.leaseMs ?? 30_000,
      keepCompletedMs: opts.keepCompletedMs ?? 3_600_000,
      keepFailedMs: opts.keepFailedMs ?? 604_800_000,
      onError: opts.onError ?? (() => {}),
    };
  }

  async add<T>(queue: string, name: string, data: T, opts?: JobOptions): Promise<string> {
    if (this.closed) throw new Error('job queue is closed');
    checkName('queue', queue);
    const o = resolveJobOptions(opts);
    const id = o.jobId ?? randomUUID();
    const now = Date.now();
    const json = JSON.stringify(data ?? null);
    await this.repo.insert({
      queue,
      id,
      name,
      data: json,
      priority: priorityRank(o.priority),
      key: o.key,
      attempts: o.attempts,
      backoffMs: o.backoffMs,
      timeoutMs: o.timeoutMs,
      runAt: now + o.delayMs,
      enqueuedAt: now,
    });
    if (o.delayMs === 0) for (const w of this.workers) if (w.queue === queue) w.wake();
    return id;
  }

  process<T>(queue: string, handler: JobHandler<T>, opts: ProcessOptions): JobWorker {
    if (this.closed) throw new Error('job queue is closed');
    checkName('queue', queue);
    checkConcurrency(opts.concurrency);
    const worker = new StoreJobWorker(this.repo, queue, handler, opts.concurrency, this.settings);
    this.workers.add(worker as StoreJobWorker<never>);
    return {
      stop: async (stopOpts) => {
        await worker.stop(stopOpts);
        this.workers.delete(worker as StoreJobWorker<never>);
      },
    };
  }

  counts(queue: string): Promise<JobCounts> {
    return this.repo.counts(queue, Date.now());
  }

  status(queue: string, jobId: string): Promise<JobStatus | null> {
    return this.repo.status(queue, jobId, Date.now());
  }

  async cancel(queue: string, jobId: string): Promise<boolean> {
    // Twice: a job may move between waiting and active (a retry) between the two statements.
    for (let i = 0; i < 2; i++) {
      if (await this.repo.deleteWaiting(queue, jobId)) return true;
      if (await this.repo.requestCancel(queue, jobId)) {
        // Runs here stop now; a run on another node stops at its next lease renewal (within a second).
        for (const w of this.workers) if (w.queue === queue) w.abort(jobId, cancelledError());
        return true;
      }
    }
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
    this.workers.clear();
  }
}
