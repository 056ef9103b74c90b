import { type Insertable, type Kysely, type Selectable, sql, type Updateable } from 'kysely';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from '../store/database.js';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type DeliverySummaryRow = Omit<DeliveryRow, 'payload'>;

const SUMMARY = [
  'id',
  'webhook_id',
  'event_type',
  'event_id',
  'room_id',
  'seq',
  'status',
  'queued',
  'max_attempts',
  'ordered',
  'attempts',
  'last_status_code',
  'last_error',
  'last_response',
  'redelivery_of',
  'created_at',
  'updated_at',
  'delivered_at',
] as const;

/** The only code that touches the webhooks' tables. */
export class WebhooksRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertWebhook(row: Insertable<WebhooksTable>): Promise<void> {
    await this.db.insertInto('webhooks').values(row).execute();
  }

  findWebhook(id: string): Promise<WebhookRow | undefined> {
    return this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** `roomId` undefined: every webhook; null: global ones; a room: that room's. */
  async listWebhooks(q: {
    roomId?: string | null;
    limit: number;
    offset: number;
  }): Promise<{ rows: WebhookRow[]; total: number }> {
    let base = this.db.selectFrom('webhooks');
    if (q.roomId === null) base = base.where('room_id', 'is', null);
    else if (q.roomId !== undefined) base = base.where('room_id', '=', q.roomId);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute(),
      base.select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** Webhooks of a room (or global ones, `roomId` null). */
  async countWebhooks(roomId: string | null): Promise<number> {
    const r = await this.db
      .selectFrom('webhooks')
      .select((e) => e.fn.countAll<number>().as('n'))
      .where('room_id', roomId === null ? 'is' : '=', roomId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countActive(): Promise<number> {
    const r = await this.db
      .selectFrom('webhooks')
      .select((e) => e.fn.countAll<number>().as('n'))
      .where('active', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Active webhooks that see events of these rooms: theirs and the global ones. */
  activeForRooms(roomIds: readonly string[]): Promise<WebhookRow[]> {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('active', '=', 1)
      .where((e) => e.or([e('room_id', 'is', null), e('room_id', 'in', roomIds)]))
      .orderBy('id')
      .execute();
  }

  async updateWebhook(id: string, change: Updateable<WebhooksTable>): Promise<void> {
    await this.db.updateTable('webhooks').set(change).where('id', '=', id).execute();
  }

  /** Deletes a webhook and its deliveries log; false if it did not exist. */
  async deleteWebhook(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      const r = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** A delivery that ended: counts it and tracks the failure streak; returns the streak. */
  async recordOutcome(id: string, ok: boolean, now: number): Promise<number> {
    await this.db
      .updateTable('webhooks')
      .set(
        ok
          ? {
              consecutive_failures: 0,
              total_deliveries: sql`total_deliveries + 1`,
              last_success_at: now,
            }
          : {
              consecutive_failures: sql`consecutive_failures + 1`,
              total_deliveries: sql`total_deliveries + 1`,
              total_failures: sql`total_failures + 1`,
              last_failure_at: now,
            },
      )
      .where('id', '=', id)
      .execute();
    const row = await this.db
      .selectFrom('webhooks')
      .select('consecutive_failures')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.consecutive_failures ?? 0;
  }

  async insertDeliveries(rows: Insertable<WebhookDeliveriesTable>[]): Promise<void> {
    if (rows.length === 0) return;
    // A statement per 100 rows stays under SQLite's bound-parameter limit.
    for (let i = 0; i < rows.length; i += 100) {
      await this.db
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + 100))
        .execute();
    }
  }

  findDelivery(id: string): Promise<DeliveryRow | undefined> {
    return this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A webhook's deliveries, newest first, without payloads. */
  async listDeliveries(
    webhookId: string,
    q: { status?: string; limit: number; offset: number },
  ): Promise<{ rows: DeliverySummaryRow[]; total: number }> {
    let base = this.db.selectFrom('webhook_deliveries').where('webhook_id', '=', webhookId);
    if (q.status) base = base.where('status', '=', q.status);
    const [rows, count] = await Promise.all([
      base
        .select(SUMMARY)
        .orderBy('created_at', 'desc')
        .orderBy('seq', 'desc')
        .orderBy('id', 'desc')
        .limit(q.limit)
        .offset(q.offset)
        .execute(),
      base.select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** Rows not yet handed to the job queue, oldest first (a room's events in seq order). */
  unqueued(limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('queued', '=', 0)
      .orderBy('created_at')
      .orderBy('room_id')
      .orderBy('seq')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async markQueued(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('webhook_deliveries').set({ queued: 1 }).where('id', 'in', ids).execute();
  }

  async updateDelivery(id: string, change: Updateable<WebhookDeliveriesTable>): Promise<void> {
    await this.db.updateTable('webhook_deliveries').set(change).where('id', '=', id).execute();
  }

  /** Deletes finished deliveries older than `before` (epoch ms); pending ones stay. */
  async purgeDeliveries(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('webhook_deliveries')
      .where('status', '!=', 'pending')
      .where('updated_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
