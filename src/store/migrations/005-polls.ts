import type { Kysely } from 'kysely';

// Polls (src/polls). The definition (question, options, flags) is the `poll` message's metadata,
// written by the ordinary send path; votes and closing live here. Same types on SQLite and PostgreSQL.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('poll_votes')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('option_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('poll_votes_pk', ['message_id', 'user_id', 'option_id'])
    .execute();
  await db.schema
    .createTable('poll_closures')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('closed_by', 'text', (c) => c.notNull())
    .addColumn('closed_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('poll_closures').ifExists().execute();
  await db.schema.dropTable('poll_votes').ifExists().execute();
}
