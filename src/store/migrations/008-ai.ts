import type { Kysely } from 'kysely';

// The AI assistant (src/ai):
// - `ai_sessions`: one conversation memory per user and room (room_id '' = outside any room, e.g.
//   POST /v1/chat/ai/ask without roomId), living 24 h from creation; expired rows are ignored and swept.
// - `ai_requests`: one row per queued answer (keyed by its job id), so `/stop` or a newer trigger can
//   find and cancel the user's running answers on whatever node runs them.
// - `ai_usage`: one row per provider call (answers, /ask, moderation) for accounting.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ai_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('messages', 'text', (c) => c.notNull())
    .addColumn('summary', 'text')
    .addColumn('tokens_used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ai_sessions_user_room')
    .on('ai_sessions')
    .columns(['user_id', 'room_id'])
    .unique()
    .execute();
  await db.schema.createIndex('ai_sessions_expires').on('ai_sessions').column('expires_at').execute();

  await db.schema
    .createTable('ai_requests')
    .addColumn('job_id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('trigger_message_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ai_requests_room_user')
    .on('ai_requests')
    .columns(['room_id', 'user_id', 'status'])
    .execute();
  await db.schema.createIndex('ai_requests_updated').on('ai_requests').column('updated_at').execute();

  await db.schema
    .createTable('ai_usage')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addColumn('room_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('input_tokens', 'integer', (c) => c.notNull())
    .addColumn('output_tokens', 'integer', (c) => c.notNull())
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ai_usage_created').on('ai_usage').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ai_usage').ifExists().execute();
  await db.schema.dropTable('ai_requests').ifExists().execute();
  await db.schema.dropTable('ai_sessions').ifExists().execute();
}
