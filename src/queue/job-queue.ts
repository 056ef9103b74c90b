/**
 * Background jobs (AI replies, agent runs, webhooks). The embedded default keeps jobs in a table of the
 * store (store-job-queue.ts); the scale-out one runs on BullMQ over Redis (bullmq-job-queue.ts). Both pass
 * test/contracts/job-queue.contract.test.ts.
 *
 * Delivery is at least once: a job whose worker dies (or loses its lease) runs again elsewhere, so
 * handlers must be idempotent or check what an earlier run already did.
 */

/** From lowest to highest; a higher priority starts first among jobs that are due at the same time. */
export type Priority = 'low' | 'normal' | 'high' | 'urgent';

export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'urgent'];

export interface JobOptions {
  /** Among due jobs of a queue, higher priorities start first; equal ones in enqueue order. @default 'normal' */
  priority?: Priority;
  /** Runs in all, the first included (1 = never retry). A positive integer. @default 3 */
  attempts?: number;
  /** Delay before the first retry, in ms; each later retry waits twice as long as the one before. @default 1000 */
  backoffMs?: number;
  /** Ms to wait before the job may start. @default 0 */
  delayMs?: number;
  /**
   * Ms one run may take. After it the handler's signal is aborted (reason: JobAbortedError 'timeout') and
   * the run counts as a failed attempt once the handler returns. @default none (no time limit)
   */
  timeoutMs?: number;
  /**
   * Jobs of one queue with the same key run one at a time, in enqueue order (priority does not reorder
   * them); an earlier job waiting for a retry or a delay holds the later ones back. @default none
   */
  key?: string;
  /**
   * Idempotent enqueue: while a job with this id is kept (waiting, running, or finished and not yet
   * cleaned up), adding it again adds nothing and returns the id. Letters, digits, `_`, `-`, `.`;
   * not all digits. @default a random UUID
   */
  jobId?: string;
}

export interface Job<T> {
  id: string;
  queue: string;
  name: string;
  data: T;
  /** 1 on the first run, 2 on the first retry, ... */
  attempt: number;
  key: string | null;
  priority: Priority;
  /** Epoch ms when the job was added. */
  enqueuedAt: number;
}

/**
 * Does the work. Resolving completes the job; throwing fails the attempt (retried while attempts remain).
 * `signal` aborts on timeout, cancel, lost lease or a hard stop; its `reason` is a JobAbortedError.
 */
export type JobHandler<T> = (job: Job<T>, signal: AbortSignal) => Promise<unknown>;

export interface ProcessOptions {
  /** Jobs this worker runs at once. A positive integer. */
  concurrency: number;
}

export interface StopOptions {
  /**
   * Do not wait: abort running handlers (reason 'stopped') and leave their jobs to another worker, which
   * takes them over once their lease expires, as if this process had died. For shutdown deadlines.
   * @default false (stop taking jobs and wait for the running ones)
   */
  abandon?: boolean;
}

export interface JobWorker {
  /** Stops taking jobs; resolves when the running ones are done (or at once with `abandon`). */
  stop(opts?: StopOptions): Promise<void>;
}

/** Per-state job counts; `waiting` is the number to watch for backpressure. */
export interface JobCounts {
  /** Due and not running (including jobs held back by an earlier job with the same key). */
  waiting: number;
  active: number;
  /** Not due yet: a `delayMs` or a retry backoff. */
  delayed: number;
  /** Failed for good and still kept. */
  failed: number;
  /** Completed and still kept (completed jobs are cleaned up after a while). */
  completed: number;
}

export type JobState = keyof JobCounts;

export interface JobStatus {
  state: JobState;
  /** Error text of the last failed attempt, if any. */
  error: string | null;
}

export interface JobQueue {
  /**
   * Adds a job and resolves once it is durable. `data` must survive JSON. `queue` is made of letters,
   * digits, `_`, `-`, `.`. Resolves with the job id.
   */
  add<T>(queue: string, name: string, data: T, opts?: JobOptions): Promise<string>;
  /** Starts running the queue's jobs with `handler` in this process. */
  process<T>(queue: string, handler: JobHandler<T>, opts: ProcessOptions): JobWorker;
  /** Counts jobs by state; callers refuse new work when `waiting` is above their limit (backpressure). */
  counts(queue: string): Promise<JobCounts>;
  /** A job's state, or null if it is unknown or was cleaned up or cancelled while waiting. */
  status(queue: string, jobId: string): Promise<JobStatus | null>;
  /**
   * Removes a job that has not started (waiting or delayed), or aborts a running one (its signal fires
   * with reason 'cancelled'; it then fails without retry). False if the job is unknown or finished.
   */
  cancel(queue: string, jobId: string): Promise<boolean>;
  /** Stops every worker started here (waiting for running jobs) and releases connections. */
  close(): Promise<void>;
}

export type AbortKind = 'timeout' | 'cancelled' | 'stopped' | 'lease-lost';

/** The reason of an aborted job signal. */
export class JobAbortedError extends Error {
  constructor(
    readonly kind: AbortKind,
    message: string,
  ) {
    super(message);
    this.name = 'JobAbortedError';
  }
}
