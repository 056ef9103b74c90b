import type { Kysely } from 'kysely';

// Bridges to other platforms (src/bridges):
// - `api_keys`: keys for `POST /message` (generic integrations). Only the sha256 of a key is kept;
//   `callback_url` receives the replies of the conversations the key opened (signed with
//   `callback_secret`).
// - `bridge_conversations`: a platform conversation (a Telegram chat, a Slack channel, a Discord
//   channel, an integration's thread) mapped to a Switchboard room; a room may have several.
//   `session_started_at`/`session_start_seq` bound the AI context to the conversation's 24 h
//   session. `reply_token` is a Discord interaction token that the next reply answers.
//   Platform users are users with the external identity (`bridge:<platform>`, their platform id)
//   and no password, so nobody logs in as them.
// - `bridge_messages`: platform message ids of messages that crossed, both ways, so replies map to
//   replies and a retried platform delivery is recognised.
// - `bridge_outbox`: one row per (conversation, message) to send out, written in the transaction
//   that commits the message; `status` is pending | sent | failed | skipped.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('callback_url', 'text')
    .addColumn('callback_secret', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('bridge_conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('api_key_id', 'text')
    .addColumn('session_started_at', 'bigint', (c) => c.notNull())
    .addColumn('session_start_seq', 'bigint', (c) => c.notNull())
    .addColumn('reply_token', 'text')
    .addColumn('reply_token_expires_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('bridge_conversations_external')
    .on('bridge_conversations')
    .columns(['platform', 'external_id'])
    .unique()
    .execute();
  await db.schema
    .createIndex('bridge_conversations_room')
    .on('bridge_conversations')
    .column('room_id')
    .execute();

  await db.schema
    .createTable('bridge_messages')
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('bridge_messages_pk', ['conversation_id', 'external_id'])
    .execute();
  await db.schema
    .createIndex('bridge_messages_message')
    .on('bridge_messages')
    .columns(['message_id', 'conversation_id'])
    .execute();

  await db.schema
    .createTable('bridge_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('queued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('bridge_outbox_message')
    .on('bridge_outbox')
    .columns(['conversation_id', 'message_id'])
    .unique()
    .execute();
  // The relay's scan: rows committed but not yet handed to the job queue.
  await db.schema
    .createIndex('bridge_outbox_unqueued')
    .on('bridge_outbox')
    .columns(['queued', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['bridge_outbox', 'bridge_messages', 'bridge_conversations', 'api_keys']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
