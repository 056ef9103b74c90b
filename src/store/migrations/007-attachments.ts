import type { Kysely } from 'kysely';

// Attachments (src/attachments): one row per uploaded file. `pending` until its bytes are stored and
// checked, then `ready`; `message_id` is set by the send that uses it (once). `deleted_at` marks rows
// whose blobs are being removed (message deleted, retention, abandoned upload): the row goes once
// the blobs are gone, so a crash between the two leaves a row to retry, never an orphaned file.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('attachments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('uploader_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('thumb_key', 'text')
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema.createIndex('attachments_message').on('attachments').column('message_id').execute();
  await db.schema
    .createIndex('attachments_uploader')
    .on('attachments')
    .columns(['uploader_id', 'status'])
    .execute();
  await db.schema.createIndex('attachments_created').on('attachments').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('attachments').ifExists().execute();
}
