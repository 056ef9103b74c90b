import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BullmqJobQueue } from '../../src/queue/bullmq-job-queue.js';
import { type Job, JobAbortedError, type JobCounts, type JobQueue } from '../../src/queue/job-queue.js';
import { StoreJobQueue } from '../../src/queue/store-job-queue.js';
import {
  availableBackends,
  REDIS_URL,
  randomRedisPrefix,
  redisReachable,
  selectedServiceBackends,
} from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';

/** One backing state (a store, a Redis prefix); `open` makes another queue instance on it, like another process. */
interface Harness {
  open(opts?: { leaseMs?: number }): JobQueue;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves when the signal aborts (or after `ms`, so a broken implementation cannot hang the suite). */
function untilAborted(signal: AbortSignal, ms = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const logError = (err: unknown) => console.error('JOBQ-ERR', err);
const EMPTY: JobCounts = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
const queueName = () => `q_${randomBytes(5).toString('hex')}`;

function jobQueueContract(name: string, setup: () => Promise<Harness>): void {
  describe(`job queue contract (${name})`, () => {
    let harness: Harness;
    const opened: JobQueue[] = [];
    const open = (opts?: { leaseMs?: number }) => {
      const q = harness.open(opts);
      opened.push(q);
      return q;
    };
    const countsOf = (q: JobQueue, queue: string, want: Partial<JobCounts>, ms?: number) =>
      waitFor(
        `counts ${JSON.stringify(want)}`,
        async () => {
          const c = await q.counts(queue);
          return Object.entries(want).every(([k, v]) => c[k as keyof JobCounts] === v);
        },
        ms,
      );

    beforeAll(async () => {
      harness = await setup();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });
    afterAll(() => harness.teardown());

    it('runs a job with its data and options, then counts it completed', async () => {
      const q = open();
      const queue = queueName();
      const seen: Job<{ hello: string }>[] = [];
      const id = await q.add(queue, 'greet', { hello: 'world' }, { priority: 'high', key: 'k1' });
      q.process<{ hello: string }>(queue, async (job) => void seen.push(job), { concurrency: 1 });
      await countsOf(q, queue, { completed: 1 });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        id,
        queue,
        name: 'greet',
        data: { hello: 'world' },
        attempt: 1,
        key: 'k1',
        priority: 'high',
      });
      expect(seen[0]!.enqueuedAt).toBeGreaterThan(Date.now() - 60_000);
      expect(await q.counts(queue)).toEqual({ ...EMPTY, completed: 1 });
      expect(await q.status(queue, id)).toEqual({ state: 'completed', error: null });
      expect(await q.status(queue, 'unknown-job')).toBeNull();
    });

    it('starts waiting jobs by priority, then in enqueue order', async () => {
      const q = open();
      const queue = queueName();
      await q.add(queue, 'j', 'low', { priority: 'low' });
      await q.add(queue, 'j', 'normal-1');
      await q.add(queue, 'j', 'urgent', { priority: 'urgent' });
      await q.add(queue, 'j', 'high', { priority: 'high' });
      await q.add(queue, 'j', 'normal-2', { priority: 'normal' });
      const order: string[] = [];
      q.process<string>(queue, async (job) => void order.push(job.data), { concurrency: 1 });
      await countsOf(q, queue, { completed: 5 });
      expect(order).toEqual(['urgent', 'high', 'normal-1', 'normal-2', 'low']);
    });

    it('retries a failing job with backoff, then fails it keeping the error', async () => {
      const q = open();
      const queue = queueName();
      const attempts: number[] = [];
      const id = await q.add(queue, 'boom', {}, { attempts: 3, backoffMs: 300 });
      q.process(
        queue,
        async (job) => {
          attempts.push(job.attempt);
          throw new Error(`boom ${job.attempt}`);
        },
        { concurrency: 1 },
      );
      // Between attempts the job waits out its backoff as a delayed job.
      await waitFor('backoff', async () => (await q.status(queue, id))?.state === 'delayed');
      expect(await q.status(queue, id)).toEqual({ state: 'delayed', error: 'boom 1' });
      await countsOf(q, queue, { failed: 1 });
      expect(attempts).toEqual([1, 2, 3]);
      expect(await q.status(queue, id)).toEqual({ state: 'failed', error: 'boom 3' });
      expect(await q.counts(queue)).toEqual({ ...EMPTY, failed: 1 });
    });

    it('aborts the signal on timeout and counts the run as a failed attempt', async () => {
      const q = open();
      const queue = queueName();
      const reasons: unknown[] = [];
      const id = await q.add(queue, 'slow', {}, { timeoutMs: 100, attempts: 2, backoffMs: 10 });
      q.process(
        queue,
        async (_job, signal) => {
          await untilAborted(signal);
          reasons.push(signal.reason); // resolving after the abort does not rescue the run
        },
        { concurrency: 1 },
      );
      await countsOf(q, queue, { failed: 1 });
      expect(reasons).toHaveLength(2);
      for (const r of reasons) {
        expect(r).toBeInstanceOf(JobAbortedError);
        expect((r as JobAbortedError).kind).toBe('timeout');
      }
      expect((await q.status(queue, id))?.error).toMatch(/timed out/);
    });

    it('runs same-key jobs one at a time in enqueue order, different keys in parallel', async () => {
      const q = open();
      const queue = queueName();
      const order: Record<string, number[]> = { a: [], b: [] };
      const active: Record<string, number> = { a: 0, b: 0 };
      let maxSameKey = 0;
      let overlapped = false;
      const bStarted = deferred();
      for (let n = 1; n <= 4; n++) {
        // Priority does not reorder jobs of one key.
        await q.add(queue, 'k', { n }, { key: 'a', priority: n === 3 ? 'urgent' : 'normal' });
        await q.add(queue, 'k', { n }, { key: 'b' });
      }
      q.process<{ n: number }>(
        queue,
        async (job) => {
          const k = job.key!;
          active[k]!++;
          maxSameKey = Math.max(maxSameKey, active[k]!);
          if (active.a! > 0 && active.b! > 0) overlapped = true;
          order[k]!.push(job.data.n);
          if (k === 'b') bStarted.resolve();
          // The first 'a' job holds on until a 'b' job runs beside it.
          if (k === 'a' && job.data.n === 1) await Promise.race([bStarted.promise, sleep(10_000)]);
          await sleep(10);
          active[k]!--;
        },
        { concurrency: 4 },
      );
      await countsOf(q, queue, { completed: 8 });
      expect(order).toEqual({ a: [1, 2, 3, 4], b: [1, 2, 3, 4] });
      expect(maxSameKey).toBe(1);
      expect(overlapped).toBe(true);
    });

    it('adds a job once per jobId', async () => {
      const q = open();
      const queue = queueName();
      expect(await q.add(queue, 'x', { v: 1 }, { jobId: 'job-1' })).toBe('job-1');
      expect(await q.add(queue, 'x', { v: 2 }, { jobId: 'job-1', key: 'k' })).toBe('job-1');
      expect(await q.counts(queue)).toEqual({ ...EMPTY, waiting: 1 });
      const seen: unknown[] = [];
      q.process(queue, async (job) => void seen.push(job.data), { concurrency: 2 });
      await countsOf(q, queue, { completed: 1 });
      // Still kept as completed: adding it again is a no-op too.
      expect(await q.add(queue, 'x', { v: 3 }, { jobId: 'job-1' })).toBe('job-1');
      await sleep(200);
      expect(seen).toEqual([{ v: 1 }]);
      expect(await q.counts(queue)).toEqual({ ...EMPTY, completed: 1 });
    });

    it('holds a delayed job back until its time', async () => {
      const q = open();
      const queue = queueName();
      const seen: string[] = [];
      q.process(queue, async (job) => void seen.push(job.id), { concurrency: 1 });
      const id = await q.add(queue, 'later', {}, { delayMs: 500 });
      expect(await q.counts(queue)).toEqual({ ...EMPTY, delayed: 1 });
      expect((await q.status(queue, id))?.state).toBe('delayed');
      expect(seen).toEqual([]);
      await countsOf(q, queue, { completed: 1 });
      expect(seen).toEqual([id]);
    });

    it('cancels waiting and delayed jobs', async () => {
      const q = open();
      const queue = queueName();
      const waiting = await q.add(queue, 'x', {});
      const delayed = await q.add(queue, 'x', {}, { delayMs: 60_000 });
      const keyed = await q.add(queue, 'x', {}, { key: 'k' });
      expect(await q.cancel(queue, waiting)).toBe(true);
      expect(await q.cancel(queue, delayed)).toBe(true);
      expect(await q.cancel(queue, keyed)).toBe(true);
      expect(await q.cancel(queue, waiting)).toBe(false);
      expect(await q.cancel(queue, 'no-such-job')).toBe(false);
      expect(await q.status(queue, waiting)).toBeNull();
      expect(await q.counts(queue)).toEqual(EMPTY);
      const seen: string[] = [];
      q.process(queue, async (job) => void seen.push(job.id), { concurrency: 1 });
      const next = await q.add(queue, 'x', {}, { key: 'k' }); // the cancelled job does not hold its key
      await countsOf(q, queue, { completed: 1 });
      expect(seen).toEqual([next]);
      expect(await q.cancel(queue, next)).toBe(false); // finished
    });

    it('cancels a running job from another instance: its signal aborts and it fails without retry', async () => {
      const worker = open();
      const other = open();
      const queue = queueName();
      const started = deferred();
      const reasons: unknown[] = [];
      const id = await other.add(queue, 'long', {}, { attempts: 3, backoffMs: 10 });
      worker.process(
        queue,
        async (_job, signal) => {
          started.resolve();
          await untilAborted(signal);
          reasons.push(signal.reason);
        },
        { concurrency: 1 },
      );
      await started.promise;
      expect(await other.cancel(queue, id)).toBe(true);
      await countsOf(other, queue, { failed: 1 });
      expect(reasons).toHaveLength(1);
      expect((reasons[0] as JobAbortedError).kind).toBe('cancelled');
      expect(await other.status(queue, id)).toEqual({ state: 'failed', error: 'job was cancelled' });
    });

    it('counts jobs by state', async () => {
      const q = open();
      const queue = queueName();
      const gate = deferred();
      await q.add(queue, 'x', {});
      await q.add(queue, 'x', {});
      const later = await q.add(queue, 'x', {}, { delayMs: 60_000 });
      expect(await q.counts(queue)).toEqual({ ...EMPTY, waiting: 2, delayed: 1 });
      q.process(queue, () => gate.promise, { concurrency: 1 });
      await countsOf(q, queue, { waiting: 1, active: 1, delayed: 1 });
      gate.resolve();
      await countsOf(q, queue, { completed: 2 });
      expect(await q.counts(queue)).toEqual({ ...EMPTY, delayed: 1, completed: 2 });
      await q.cancel(queue, later);
    });

    it('hands the job of a worker that died to another worker once its lease expires', async () => {
      const a = open({ leaseMs: 400 });
      const b = open({ leaseMs: 400 });
      const queue = queueName();
      const started = deferred();
      let reasonA: unknown;
      const id = await a.add(queue, 'x', { n: 1 }, { key: 'k' });
      const later = await a.add(queue, 'x', { n: 2 }, { key: 'k' });
      const workerA = a.process(
        queue,
        async (_job, signal) => {
          started.resolve();
          await untilAborted(signal);
          reasonA = signal.reason;
        },
        { concurrency: 1 },
      );
      await started.promise;
      await workerA.stop({ abandon: true });
      await waitFor('abort of the abandoned run', () => reasonA !== undefined);
      expect((reasonA as JobAbortedError).kind).toBe('stopped');
      const runs: string[] = [];
      b.process(queue, async (job) => void runs.push(job.id), { concurrency: 2 });
      await countsOf(b, queue, { completed: 2 }, 15_000);
      // The taken-over job still comes before the later job with its key.
      expect(runs).toEqual([id, later]);
    });

    it('keeps renewing the lease of a job that runs longer than it, so no other worker takes it', async () => {
      const a = open({ leaseMs: 400 });
      const b = open({ leaseMs: 400 });
      const queue = queueName();
      const runs: string[] = [];
      const handler = async (job: Job<unknown>) => {
        runs.push(job.id);
        await sleep(1500);
      };
      a.process(queue, handler, { concurrency: 1 });
      const id = await a.add(queue, 'long', {});
      await waitFor('start', () => runs.length === 1);
      b.process(queue, handler, { concurrency: 1 });
      await countsOf(a, queue, { completed: 1 });
      expect(runs).toEqual([id]);
    });

    it('stop() waits for running jobs, and a stopped worker takes no more', async () => {
      const q = open();
      const queue = queueName();
      const gate = deferred();
      const started = deferred();
      const worker = q.process(
        queue,
        async () => {
          started.resolve();
          await gate.promise;
        },
        { concurrency: 1 },
      );
      await q.add(queue, 'x', {});
      await started.promise;
      let stopped = false;
      const stopping = worker.stop().then(() => {
        stopped = true;
      });
      await sleep(150);
      expect(stopped).toBe(false);
      gate.resolve();
      await stopping;
      expect(await q.counts(queue)).toEqual({ ...EMPTY, completed: 1 });
      await q.add(queue, 'x', {});
      await sleep(150);
      expect(await q.counts(queue)).toEqual({ ...EMPTY, waiting: 1, completed: 1 });
    });

    it('rejects bad queue names and options', async () => {
      const q = open();
      await expect(q.add('a:b', 'x', {})).rejects.toThrow(/queue/);
      await expect(q.add(queueName(), 'x', {}, { attempts: 0 })).rejects.toThrow(/attempts/);
      await expect(q.add(queueName(), 'x', {}, { jobId: '123' })).rejects.toThrow(/jobId/);
      expect(() => q.process(queueName(), async () => {}, { concurrency: 0 })).toThrow(/concurrency/);
    });
  });
}

for (const backend of await availableBackends()) {
  jobQueueContract(`store on ${backend}`, async () => {
    const { store, close } = await openTestStore(backend);
    return {
      open: (opts) =>
        new StoreJobQueue(store, { pollMs: 20, leaseMs: opts?.leaseMs ?? 5000, onError: logError }),
      teardown: close,
    };
  });
}

if (selectedServiceBackends().includes('redis') && (await redisReachable())) {
  jobQueueContract('bullmq on redis', async () => {
    const prefix = randomRedisPrefix();
    return {
      open: (opts) =>
        new BullmqJobQueue(REDIS_URL, {
          prefix,
          leaseMs: opts?.leaseMs ?? 5000,
          keyRetryMs: 100,
          onError: logError,
        }),
      async teardown() {
        const redis = new Redis(REDIS_URL);
        try {
          const keys = await redis.keys(`${prefix}:*`);
          if (keys.length > 0) await redis.del(...keys);
        } finally {
          redis.disconnect();
        }
      },
    };
  });
} else {
  console.warn('Redis not selected or unreachable: skipping the BullMQ job queue contract');
}
