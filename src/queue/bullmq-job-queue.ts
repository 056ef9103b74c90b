import { randomUUID } from 'node:crypto';
import { type Job as BullJob, DelayedError, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { KeyLanes } from './bullmq-key-lanes.js';
import { checkConcurrency, checkName, resolveJobOptions } from './job-options.js';
import {
  type Job,
  JobAbortedError,
  type JobCounts,
  type JobHandler,
  type JobOptions,
  type JobQueue,
  type JobStatus,
  type JobWorker,
  type Priority,
  type ProcessOptions,
} from './job-queue.js';
import { cancelledError, errorText, runAttempt } from './run-attempt.js';

export interface BullmqJobQueueOptions {
  /** Prefix of every Redis key and channel used (BullMQ's `prefix`); lets tests and installs share a Redis. @default 'switchboard' */
  prefix?: string;
  /**
   * Lock of a running job, in ms (BullMQ `lockDuration`, renewed while the handler runs). A dead
   * worker's job is taken over once its lock is gone, found by stalled checks run every `leaseMs`.
   * @default 30_000
   */
  leaseMs?: number;
  /** How long a job whose key is busy waits before looking again, in ms; it is woken early when the key frees. @default 1000 */
  keyRetryMs?: number;
  /** How long completed jobs are kept, in ms (rounded up to seconds). @default 3_600_000 (1 h) */
  keepCompletedMs?: number;
  /** How long failed jobs are kept, in ms (rounded up to seconds). @default 604_800_000 (7 days) */
  keepFailedMs?: number;
  /** Errors of connections and background work; they retry on their own. @default ignored */
  onError?: (err: unknown) => void;
}

/** What is stored as BullMQ job data. */
interface Envelope<T> {
  d: T;
  k: string | null;
  p: Priority;
  t: number | null;
}

/** BullMQ priorities: 1 is the highest. Every job gets one so all share one ordered set. */
const BULL_PRIORITY: Record<Priority, number> = { urgent: 1, high: 2, normal: 3, low: 4 };

const CANCEL_MARK_MS = 86_400_000;

interface LocalRun {
  controller: AbortController;
  worker: Worker;
}

/**
 * The scale-out job queue on BullMQ (Redis). Per-key ordering is added on top (bullmq-key-lanes.ts);
 * cancel reaches running jobs on any node through a Redis channel.
 */
export class BullmqJobQueue implements JobQueue {
  private readonly redis: Redis;
  private subscriber: Promise<Redis> | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Set<JobWorker>();
  private readonly running = new Map<string, LocalRun>();
  private readonly lanes: KeyLanes;
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly keyRetryMs: number;
  private readonly keepCompletedS: number;
  private readonly keepFailedS: number;
  private readonly onError: (err: unknown) => void;
  private closed = false;

  /** `redisUrl`: `redis://[user:password@]host:port[/db]` or `rediss://...`. */
  constructor(
    private readonly redisUrl: string,
    opts: BullmqJobQueueOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'switchboard';
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.keyRetryMs = opts.keyRetryMs ?? 1000;
    this.keepCompletedS = Math.ceil((opts.keepCompletedMs ?? 3_600_000) / 1000);
    this.keepFailedS = Math.ceil((opts.keepFailedMs ?? 604_800_000) / 1000);
    this.onError = opts.onError ?? (() => {});
    // Commands fail after a few reconnect attempts instead of holding an enqueueing request forever.
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    this.redis.on('error', this.onError);
    this.lanes = new KeyLanes(this.redis, (queue) => `${this.prefix}:${queue}:sb:`);
  }

  async add<T>(queue: string, name: string, data: T, opts?: JobOptions): Promise<string> {
    if (this.closed) throw new Error('job queue is closed');
    const q = this.queue(queue);
    const o = resolveJobOptions(opts);
    const id = o.jobId ?? randomUUID();
    // An idempotent re-add must not put the id in its lane twice.
    if (o.key !== null && !(o.jobId !== null && (await q.getJob(id))))
      await this.lanes.join(queue, o.key, id);
    // `undefined` data comes back as null, as from the store queue (JSON has no undefined).
    const envelope: Envelope<T | null> = { d: data ?? null, k: o.key, p: o.priority, t: o.timeoutMs };
    await q.add(name, envelope, {
      jobId: id,
      priority: BULL_PRIORITY[o.priority],
      attempts: o.attempts,
      backoff: { type: 'exponential', delay: o.backoffMs },
      delay: o.delayMs,
      removeOnComplete: { age: this.keepCompletedS },
      removeOnFail: { age: this.keepFailedS },
    });
    return id;
  }

  process<T>(queue: string, handler: JobHandler<T>, opts: ProcessOptions): JobWorker {
    if (this.closed) throw new Error('job queue is closed');
    const q = this.queue(queue);
    checkConcurrency(opts.concurrency);
    const worker: Worker = new Worker(queue, (job, token) => this.runJob(q, worker, handler, job, token), {
      connection: { url: this.redisUrl },
      prefix: this.prefix,
      concurrency: opts.concurrency,
      autorun: false,
      lockDuration: this.leaseMs,
      stalledInterval: this.leaseMs,
      // A job whose worker died is taken over twice; a third loss fails it (it may be what kills workers).
      maxStalledCount: 2,
    });
    worker.on('error', this.onError);
    worker.on('completed', (job: BullJob) => this.finished(q, job));
    worker.on('failed', (job: BullJob | undefined) => {
      if (job?.finishedOn) this.finished(q, job);
    });
    const started = this.subscribe().then(() => {
      if (!worker.closing) worker.run().catch(this.onError);
    });
    let stopping: Promise<void> | undefined;
    const handle: JobWorker = {
      stop: (stopOpts = {}) => {
        stopping ??= (async () => {
          await started.catch(() => {});
          if (stopOpts.abandon) {
            // Close first so the aborted handlers' outcomes cannot be recorded: the jobs stay active
            // with locks nobody renews, and another worker's stalled check takes them over.
            await worker.close(true);
            for (const run of this.running.values()) {
              if (run.worker === worker) {
                run.controller.abort(
                  new JobAbortedError('stopped', 'worker stopped without finishing the job'),
                );
              }
            }
          } else {
            await worker.close();
          }
          this.workers.delete(handle);
        })();
        return stopping;
      },
    };
    this.workers.add(handle);
    return handle;
  }

  async counts(queue: string): Promise<JobCounts> {
    const c = await this.queue(queue).getJobCounts(
      'wait',
      'paused',
      'prioritized',
      'waiting-children',
      'active',
      'delayed',
      'failed',
      'completed',
    );
    const n = (k: string) => c[k] ?? 0;
    // Jobs parked behind their key are waiting for their turn, not for a time.
    const parked = Math.min(await this.lanes.parkedCount(queue), n('delayed'));
    return {
      waiting: n('wait') + n('paused') + n('prioritized') + n('waiting-children') + parked,
      active: n('active'),
      delayed: n('delayed') - parked,
      failed: n('failed'),
      completed: n('completed'),
    };
  }

  async status(queue: string, jobId: string): Promise<JobStatus | null> {
    const job = await this.queue(queue).getJob(jobId);
    if (!job) return null;
    const s = await job.getState();
    if (s === 'unknown') return null;
    let state: JobStatus['state'];
    if (s === 'active' || s === 'completed' || s === 'failed') state = s;
    else if (s === 'delayed') state = (await this.lanes.isParked(queue, jobId)) ? 'waiting' : 'delayed';
    else state = 'waiting';
    return { state, error: state === 'completed' ? null : job.failedReason || null };
  }

  async cancel(queue: string, jobId: string): Promise<boolean> {
    const q = this.queue(queue);
    const job = await q.getJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
    if (state !== 'active' && (await q.remove(jobId)) === 1) {
      const key = (job.data as Envelope<unknown>).k;
      if (key !== null) await this.lanes.leave(q, key, jobId);
      return true;
    }
    // Running (or just started, so the removal found it locked): tell whichever node runs it. The mark
    // covers a run that registers after the message went out.
    await this.redis.set(this.cancelMark(queue, jobId), '1', 'PX', CANCEL_MARK_MS);
    await this.redis.publish(this.cancelChannel(), JSON.stringify([queue, jobId]));
    this.running.get(runRef(queue, jobId))?.controller.abort(cancelledError());
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    const sub = await this.subscriber?.catch(() => undefined);
    await sub?.quit().catch(() => {});
    await this.redis.quit().catch(() => {});
  }

  private queue(name: string): Queue {
    checkName('queue', name);
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.prefix });
      q.on('error', this.onError);
      this.queues.set(name, q);
    }
    return q;
  }

  private async runJob<T>(
    q: Queue,
    worker: Worker,
    handler: JobHandler<T>,
    bjob: BullJob,
    token: string | undefined,
  ): Promise<null> {
    const env = bjob.data as Envelope<T>;
    const id = bjob.id!;
    if (env.k !== null) {
      if (!(await this.lanes.isTurn(q, env.k, id))) {
        await this.lanes.park(q.name, id);
        await bjob.moveToDelayed(Date.now() + this.keyRetryMs, token);
        throw new DelayedError();
      }
      await this.lanes.unpark(q.name, id);
    }
    const ref = runRef(q.name, id);
    const controller = new AbortController();
    this.running.set(ref, { controller, worker });
    try {
      if ((await this.redis.exists(this.cancelMark(q.name, id))) === 1) controller.abort(cancelledError());
      const job: Job<T> = {
        id,
        queue: q.name,
        name: bjob.name,
        data: env.d,
        attempt: bjob.attemptsMade + 1,
        key: env.k,
        priority: env.p,
        enqueuedAt: bjob.timestamp,
      };
      const outcome = await runAttempt(handler, job, controller, env.t);
      if (outcome.ok) return null;
      // BullMQ does not retry an UnrecoverableError.
      if (outcome.cancelled) throw new UnrecoverableError(errorText(outcome.error));
      throw outcome.error instanceof Error ? outcome.error : new Error(errorText(outcome.error));
    } finally {
      this.running.delete(ref);
    }
  }

  /** A job finished for good (its outcome is stored): free its key. */
  private finished(q: Queue, job: BullJob): void {
    const key = (job.data as Envelope<unknown>).k;
    if (key !== null) this.lanes.leave(q, key, job.id!).catch(this.onError);
    this.redis.del(this.cancelMark(q.name, job.id!)).catch(this.onError);
  }

  /** One subscribed connection per instance carries cancels to the runs of this process. */
  private subscribe(): Promise<Redis> {
    this.subscriber ??= (async () => {
      const sub = this.redis.duplicate();
      sub.on('error', this.onError);
      sub.on('message', (_channel: string, message: string) => {
        try {
          const [queue, id] = JSON.parse(message) as [string, string];
          this.running.get(runRef(queue, id))?.controller.abort(cancelledError());
        } catch (err) {
          this.onError(err);
        }
      });
      await sub.subscribe(this.cancelChannel());
      return sub;
    })();
    return this.subscriber;
  }

  private cancelChannel(): string {
    return `${this.prefix}:sb:cancel`;
  }

  private cancelMark(queue: string, jobId: string): string {
    return `${this.prefix}:${queue}:sb:cancel:${jobId}`;
  }
}

function runRef(queue: string, jobId: string): string {
  return `${queue}\n${jobId}`;
}
