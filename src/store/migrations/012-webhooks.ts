import type { Kysely } from 'kysely';

// Outgoing webhooks (src/webhooks):
// - `webhooks`: a URL that receives room events, for one room (`room_id`) or every room (null).
//   `event_types` is a JSON array of event types or ["*"]. `secret` signs deliveries (HMAC);
//   after a rotation `previous_secret` keeps signing too until `previous_secret_expires_at`.
//   `active` 0 stops deliveries (`disabled_reason` says why when the server did it: 410 Gone, too
//   many failures). `consecutive_failures` counts deliveries that failed for good in a row.
// - `webhook_deliveries`: one row per (webhook, event) to send, written in the transaction that
//   commits the event (or by ping / redeliver). `status` is pending | delivered | failed;
//   `queued` is 1 once the relay handed the row to the job queue.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text')
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_expires_at', 'bigint')
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('disabled_reason', 'text')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total_deliveries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_success_at', 'bigint')
    .addColumn('last_failure_at', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_room').on('webhooks').columns(['room_id', 'active']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text')
    .addColumn('seq', 'bigint')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('queued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('ordered', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_response', 'text')
    .addColumn('redelivery_of', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .execute();
  // The deliveries log of a webhook, newest first.
  await db.schema
    .createIndex('webhook_deliveries_webhook')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'created_at'])
    .execute();
  // The relay's scan: rows committed but not yet handed to the job queue.
  await db.schema
    .createIndex('webhook_deliveries_unqueued')
    .on('webhook_deliveries')
    .columns(['queued', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['webhook_deliveries', 'webhooks']) await db.schema.dropTable(t).ifExists().execute();
}
