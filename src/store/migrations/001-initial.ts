import { type Kysely, sql } from 'kysely';

// Types chosen to mean the same on SQLite and PostgreSQL: text, integer, bigint.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_bot', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('avatar', 'text')
    .addColumn('external_issuer', 'text')
    .addColumn('external_subject', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('users_external_identity', ['external_issuer', 'external_subject'])
    .execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();

  await db.schema
    .createTable('rooms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('avatar', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('message_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity', 'bigint', (c) => c.notNull())
    .addColumn('member_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_members', 'integer', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('dm_key', 'text', (c) => c.unique())
    .execute();
  await db.schema.createIndex('rooms_type_activity').on('rooms').columns(['type', 'last_activity']).execute();

  await db.schema
    .createTable('members')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('read_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('muted_until', 'bigint')
    .addPrimaryKeyConstraint('members_pk', ['room_id', 'user_id'])
    .execute();
  await db.schema.createIndex('members_user').on('members').columns(['user_id', 'room_id']).execute();

  await db.schema
    .createTable('room_bans')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('banned_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addPrimaryKeyConstraint('room_bans_pk', ['room_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('events_pk', ['room_id', 'seq'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('msg_no', 'bigint', (c) => c.notNull())
    .addColumn('author_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('reply_to', 'text')
    .addColumn('client_msg_id', 'text')
    .addColumn('attachments', 'text')
    .addColumn('metadata', 'text')
    .addColumn('is_anonymous', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('anonymous_name', 'text')
    .addColumn('is_pinned', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pinned_by', 'text')
    .addColumn('pinned_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('edited_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .addColumn('deleted_by', 'text')
    .execute();
  await db.schema
    .createIndex('messages_room_seq')
    .on('messages')
    .columns(['room_id', 'seq'])
    .unique()
    .execute();
  // Idempotent sends: one message per (sender, clientMsgId). NULLs are distinct on both engines.
  await db.schema
    .createIndex('messages_client_msg_id')
    .on('messages')
    .columns(['author_id', 'client_msg_id'])
    .unique()
    .execute();
  await db.schema
    .createIndex('messages_room_pinned')
    .on('messages')
    .columns(['room_id', 'is_pinned'])
    .where(sql.ref('is_pinned'), '=', 1)
    .execute();

  await db.schema
    .createTable('reactions')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('emoji', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('reactions_pk', ['message_id', 'user_id', 'emoji'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'reactions',
    'messages',
    'events',
    'room_bans',
    'members',
    'rooms',
    'refresh_tokens',
    'users',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
