import type { Kysely } from 'kysely';

// The agent worker (src/agents):
// - `agent_projects`: a project (a git repository the agent works on) belongs to the room that first
//   used it; only that room's members may run jobs on it. `repo_url` is the last repository given.
// - `agent_jobs`: one row per instruction (a queued job keeps the same id in the job queue). `state` is
//   queued | running | succeeded | failed | interrupted | cancelled; `stop_reason` is set when a newer
//   instruction or a user stops it; `result` is the OutputMessage JSON; `result_message_id` is the
//   message that reported it (null while the report is still to be posted).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('repo_url', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('agent_projects_room').on('agent_projects').column('room_id').execute();

  await db.schema
    .createTable('agent_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('thread_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('command_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('instruction', 'text', (c) => c.notNull())
    .addColumn('repo_url', 'text')
    .addColumn('previous_commit', 'text')
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('stop_reason', 'text')
    .addColumn('stopped_by', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('result', 'text')
    .addColumn('result_message_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // A retried request with the same commandId finds its job instead of starting another.
  await db.schema
    .createIndex('agent_jobs_command')
    .on('agent_jobs')
    .columns(['user_id', 'command_id'])
    .unique()
    .execute();
  // "Unfinished jobs of this thread" (interruption) and "jobs of this room" (listing).
  await db.schema.createIndex('agent_jobs_thread').on('agent_jobs').columns(['thread_id', 'state']).execute();
  await db.schema
    .createIndex('agent_jobs_room')
    .on('agent_jobs')
    .columns(['room_id', 'created_at'])
    .execute();
  await db.schema.createIndex('agent_jobs_state').on('agent_jobs').columns(['state', 'updated_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agent_jobs').ifExists().execute();
  await db.schema.dropTable('agent_projects').ifExists().execute();
}
