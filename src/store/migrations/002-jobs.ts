import { type Kysely, sql } from 'kysely';

// The store job queue (src/queue/store-job-queue.ts). Same types on SQLite and PostgreSQL as 001.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('key', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('backoff_ms', 'bigint', (c) => c.notNull())
    .addColumn('timeout_ms', 'bigint')
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('lock_token', 'text')
    .addColumn('locked_until', 'bigint')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('enqueued_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addPrimaryKeyConstraint('jobs_pk', ['queue', 'id'])
    .execute();
  // Enqueue order; also what a worker scans: due jobs by priority, then seq.
  await db.schema.createIndex('jobs_queue_seq').on('jobs').columns(['queue', 'seq']).unique().execute();
  await db.schema
    .createIndex('jobs_queue_state')
    .on('jobs')
    .columns(['queue', 'state', 'priority', 'seq'])
    .execute();
  // "Is an earlier job with this key unfinished?"
  await db.schema
    .createIndex('jobs_queue_key')
    .on('jobs')
    .columns(['queue', 'key', 'seq'])
    .where(sql.ref('key'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('jobs').ifExists().execute();
}
