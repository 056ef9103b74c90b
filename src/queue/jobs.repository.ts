import { type Kysely, type Selectable, sql } from 'kysely';
import type { Dialect } from '../store/create-database.js';
import type { Database, JobsTable } from '../store/database.js';
import type { JobCounts, JobStatus } from './job-queue.js';

export type JobRow = Selectable<JobsTable>;

export interface NewJob {
  queue: string;
  id: string;
  name: string;
  /** JSON. */
  data: string;
  /** 0 urgent ... 3 low. */
  priority: number;
  key: string | null;
  attempts: number;
  backoffMs: number;
  timeoutMs: number | null;
  runAt: number;
  enqueuedAt: number;
}

const CANCELLED = 'job was cancelled';

/** The only code that touches the `jobs` table. Times are epoch ms passed in by the caller. */
export class JobsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Inserts a waiting job with the next seq of its queue; false if the id is already taken.
   * Two PostgreSQL writers may compute the same seq; the loser hits the unique index and tries again.
   */
  async insert(job: NewJob): Promise<boolean> {
    for (let tries = 0; ; tries++) {
      try {
        const { rows } = await sql<{ id: string }>`
          insert into jobs (queue, id, seq, name, data, priority, key, state, attempts, backoff_ms,
            timeout_ms, run_at, enqueued_at)
          select ${job.queue}, ${job.id}, coalesce(max(seq), 0) + 1, ${job.name}, ${job.data},
            cast(${job.priority} as integer), cast(${job.key} as text), 'waiting',
            cast(${job.attempts} as integer), cast(${job.backoffMs} as bigint),
            cast(${job.timeoutMs} as bigint), cast(${job.runAt} as bigint), cast(${job.enqueuedAt} as bigint)
          from jobs where queue = ${job.queue}
          on conflict (queue, id) do nothing
          returning id`.execute(this.db);
        return rows.length > 0;
      } catch (err) {
        if ((err as { code?: unknown }).code !== '23505' || tries >= 20) throw err;
      }
    }
  }

  /**
   * Leases the next runnable job: due, first by priority then seq, skipping jobs whose key has an
   * earlier unfinished job. One statement, so two workers never claim the same job: SQLite runs it
   * under its write lock; PostgreSQL locks the chosen row and skips rows other workers hold.
   */
  async claim(queue: string, token: string, now: number, leaseMs: number): Promise<JobRow | undefined> {
    const lock = this.dialect === 'postgres' ? sql`for update of j skip locked` : sql``;
    const { rows } = await sql<JobRow>`
      update jobs set state = 'active', attempt = attempt + 1, lock_token = ${token},
        locked_until = ${now + leaseMs}
      where queue = ${queue} and state = 'waiting' and id = (
        select j.id from jobs j
        where j.queue = ${queue} and j.state = 'waiting' and j.run_at <= ${now}
          and (j.key is null or not exists (
            select 1 from jobs k
            where k.queue = j.queue and k.key = j.key and k.seq < j.seq
              and k.state in ('waiting', 'active')))
        order by j.priority, j.seq
        limit 1
        ${lock})
      returning *`.execute(this.db);
    return rows[0];
  }

  /** Extends the leases still held by `tokens`; a token missing from the answer has lost its lease. */
  async renew(
    queue: string,
    tokens: string[],
    until: number,
  ): Promise<{ lock_token: string | null; cancel_requested: number }[]> {
    if (tokens.length === 0) return [];
    return this.db
      .updateTable('jobs')
      .set({ locked_until: until })
      .where('queue', '=', queue)
      .where('state', '=', 'active')
      .where('lock_token', 'in', tokens)
      .returning(['lock_token', 'cancel_requested'])
      .execute();
  }

  async complete(queue: string, id: string, token: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'completed', finished_at: now, lock_token: null, locked_until: null, error: null })
      .where('queue', '=', queue)
      .where('id', '=', id)
      .where('lock_token', '=', token)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Ends a failed run: waiting again from `retryAt`, or failed for good when it is null (or cancelled). */
  async fail(
    queue: string,
    id: string,
    token: string,
    now: number,
    error: string,
    retryAt: number | null,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set(
        retryAt === null
          ? { state: 'failed', finished_at: now, error }
          : {
              // A cancel may have been asked for (by another node) after this run last heard.
              state: sql<string>`case when cancel_requested = 1 then 'failed' else 'waiting' end`,
              finished_at: sql<
                number | null
              >`case when cancel_requested = 1 then cast(${now} as bigint) else null end`,
              error: sql<string>`case when cancel_requested = 1 then ${CANCELLED} else ${error} end`,
              run_at: retryAt,
            },
      )
      .set({ lock_token: null, locked_until: null })
      .where('queue', '=', queue)
      .where('id', '=', id)
      .where('lock_token', '=', token)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes a job that has not started. */
  async deleteWaiting(queue: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('jobs')
      .where('queue', '=', queue)
      .where('id', '=', id)
      .where('state', '=', 'waiting')
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Flags a running job; its worker aborts it on its next lease renewal. */
  async requestCancel(queue: string, id: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ cancel_requested: 1 })
      .where('queue', '=', queue)
      .where('id', '=', id)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Jobs whose lease ran out (their worker died or stalled): waiting again at once while attempts
   * remain, otherwise failed. The lost run counts as an attempt.
   */
  async expireLeases(queue: string, now: number): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ state: 'waiting', run_at: now, lock_token: null, locked_until: null, error: 'lease expired' })
      .where('queue', '=', queue)
      .where('state', '=', 'active')
      .where('locked_until', '<', now)
      .where('cancel_requested', '=', 0)
      .where((eb) => eb('attempt', '<', eb.ref('attempts')))
      .execute();
    await this.db
      .updateTable('jobs')
      .set({
        state: 'failed',
        finished_at: now,
        lock_token: null,
        locked_until: null,
        error: sql<string>`case when cancel_requested = 1 then ${CANCELLED} else 'lease expired' end`,
      })
      .where('queue', '=', queue)
      .where('state', '=', 'active')
      .where('locked_until', '<', now)
      .execute();
  }

  /** Deletes finished jobs that ended before the given times. */
  async deleteFinished(queue: string, completedBefore: number, failedBefore: number): Promise<void> {
    await this.db
      .deleteFrom('jobs')
      .where('queue', '=', queue)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'completed'), eb('finished_at', '<', completedBefore)]),
          eb.and([eb('state', '=', 'failed'), eb('finished_at', '<', failedBefore)]),
        ]),
      )
      .execute();
  }

  async counts(queue: string, now: number): Promise<JobCounts> {
    const { rows } = await sql<{ state: string; later: number; n: number }>`
      select state, case when state = 'waiting' and run_at > ${now} then 1 else 0 end as later,
        count(*) as n
      from jobs where queue = ${queue}
      group by 1, 2`.execute(this.db);
    const counts: JobCounts = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
    for (const r of rows) {
      const state = r.state === 'waiting' && Number(r.later) === 1 ? 'delayed' : r.state;
      if (state in counts) counts[state as keyof JobCounts] += Number(r.n);
    }
    return counts;
  }

  async status(queue: string, id: string, now: number): Promise<JobStatus | null> {
    const row = await this.db
      .selectFrom('jobs')
      .select(['state', 'run_at', 'error'])
      .where('queue', '=', queue)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    const state = row.state === 'waiting' && row.run_at > now ? 'delayed' : (row.state as JobStatus['state']);
    return { state, error: row.error };
  }
}
