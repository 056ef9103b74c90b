import type { Kysely } from 'kysely';

// Error reports sent by clients (src/client-errors). Same types on SQLite and PostgreSQL as 001.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('client_errors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('stack', 'text')
    .addColumn('context', 'text')
    .addColumn('client_version', 'text')
    .addColumn('url', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // Newest first per user (listing by user, the per-user cap) and overall (listing, age cleanup).
  await db.schema
    .createIndex('client_errors_user_created')
    .on('client_errors')
    .columns(['user_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('client_errors_created')
    .on('client_errors')
    .columns(['created_at', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('client_errors').ifExists().execute();
}
