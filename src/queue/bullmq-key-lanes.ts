import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Per-key ordering on BullMQ, which lacks it in its open-source edition. Each (queue, key) has a lane:
 * a sorted set of job ids by enqueue number. The job at the head of the lane owns the key; it leaves
 * the lane only when it is finished for good (completed, failed after its last attempt, or cancelled),
 * so a retrying job keeps later jobs of its key waiting. A job picked up while not at the head is
 * parked (moved back to delayed for `retryMs`) and promoted as soon as the head leaves.
 */
export class KeyLanes {
  constructor(
    private readonly redis: Redis,
    /** `<prefix>:<queue>:sb:`; every key below lives under it. */
    private readonly base: (queue: string) => string,
  ) {}

  /** Call before the job is added to BullMQ, so a worker never sees a keyed job outside its lane. */
  async join(queue: string, key: string, jobId: string): Promise<void> {
    const b = this.base(queue);
    const n = await this.redis.incr(`${b}seq`);
    await this.redis.zadd(`${b}key:${key}`, 'NX', n, jobId);
  }

  /**
   * True when the job may run now: it heads its lane (or is in no lane, e.g. its lane entry was lost).
   * A head whose job is already finished or gone (a worker died between finishing and leaving the
   * lane) is dropped on the way.
   */
  async isTurn(q: Queue, key: string, jobId: string): Promise<boolean> {
    const lane = `${this.base(q.name)}key:${key}`;
    for (let i = 0; i < 10; i++) {
      const [head] = await this.redis.zrange(lane, 0, 0);
      if (head === undefined || head === jobId) return true;
      if ((await this.redis.zscore(lane, jobId)) === null) return true;
      const state = await q.getJobState(head);
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
      await this.redis.zrem(lane, head);
    }
    return false;
  }

  /** Marks a job as parked (counted as waiting, promoted when its turn comes). */
  async park(queue: string, jobId: string): Promise<void> {
    await this.redis.sadd(`${this.base(queue)}parked`, jobId);
  }

  async unpark(queue: string, jobId: string): Promise<void> {
    await this.redis.srem(`${this.base(queue)}parked`, jobId);
  }

  /** Parked jobs of the queue (an upper bound: a parked job may be picked up right now). */
  parkedCount(queue: string): Promise<number> {
    return this.redis.scard(`${this.base(queue)}parked`);
  }

  isParked(queue: string, jobId: string): Promise<boolean> {
    return this.redis.sismember(`${this.base(queue)}parked`, jobId).then((n) => n === 1);
  }

  /** The job is finished for good: hand the key to the next job, waking it if it is parked. */
  async leave(q: Queue, key: string, jobId: string): Promise<void> {
    const b = this.base(q.name);
    const lane = `${b}key:${key}`;
    await this.redis.zrem(lane, jobId);
    await this.unpark(q.name, jobId);
    const [next] = await this.redis.zrange(lane, 0, 0);
    if (next === undefined || !(await this.isParked(q.name, next))) return;
    const job = await q.getJob(next);
    // Not delayed (any more) is fine: it was picked up meanwhile and will find its turn.
    await job?.promote().catch(() => {});
  }
}
