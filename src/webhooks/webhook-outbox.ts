import type { Insertable, Kysely } from 'kysely';
import type { LogTap } from '../events/log-tap.js';
import type { RoomEvent } from '../events/room-event.js';
import type { JobQueue } from '../queue/job-queue.js';
import { OutboxRelay } from '../queue/outbox-relay.js';
import { newId } from '../shared/ids.js';
import { parseJson } from '../shared/json.js';
import type { Database, WebhookDeliveriesTable } from '../store/database.js';
import { eventPayload, subscribed, webhookEventOf } from './webhook-model.js';
import { type DeliveryRow, WebhooksRepository } from './webhooks.repository.js';

/** The job queue's name for webhook deliveries. */
export const WEBHOOK_QUEUE = 'webhooks';

export interface DeliveryJob {
  deliveryId: string;
}

export interface WebhookOutboxOptions {
  /** Runs per delivery, the first included (a delivery row may say fewer: pings). */
  attempts: number;
  /** Ms before the first retry; doubling after. */
  backoffMs: number;
  /** Ms one delivery attempt may take in all (the request timeout plus the checks around it). */
  jobTimeoutMs: number;
  /** Ms between relay passes. */
  relayIntervalMs: number;
}

/**
 * Deliveries are written like the bridges' outbox: in the transaction that commits the events (a
 * LogTap), one row per (subscribed webhook, event); then a relay hands them to the job queue under
 * the row's id. Event deliveries of one webhook share a job key, so they go out one at a time in
 * event order; pings and redeliveries do not (they are not held back by a failing delivery).
 */
export class WebhookOutbox implements LogTap {
  private readonly relayer: OutboxRelay<DeliveryRow>;

  constructor(
    repo: WebhooksRepository,
    queue: JobQueue,
    private readonly opts: WebhookOutboxOptions,
    /** Whether any active webhook may exist (cached; false skips the tap). */
    readonly active: () => boolean,
    private readonly now: () => number,
    onError: (err: unknown) => void,
  ) {
    this.relayer = new OutboxRelay(
      repo,
      async (rows) => {
        for (const r of rows) {
          await queue.add<DeliveryJob>(
            WEBHOOK_QUEUE,
            r.event_type,
            { deliveryId: r.id },
            {
              jobId: r.id,
              attempts: Math.max(1, Math.min(r.max_attempts, opts.attempts)),
              backoffMs: opts.backoffMs,
              timeoutMs: opts.jobTimeoutMs,
              ...(r.ordered === 1 ? { key: r.webhook_id } : {}),
            },
          );
        }
      },
      { intervalMs: opts.relayIntervalMs },
      onError,
    );
  }

  /** LogTap: delivery rows for the events among `events` that webhooks subscribed to. */
  async record(db: Kysely<Database>, events: readonly RoomEvent[]): Promise<void> {
    const mapped = events.flatMap((e) => {
      const type = webhookEventOf(e);
      return type ? [{ e, type }] : [];
    });
    if (mapped.length === 0) return;
    const repo = new WebhooksRepository(db);
    const hooks = await repo.activeForRooms([...new Set(mapped.map((m) => m.e.roomId))]);
    if (hooks.length === 0) return;
    const now = this.now();
    const rows: Insertable<WebhookDeliveriesTable>[] = [];
    for (const h of hooks) {
      const types = parseJson<string[]>(h.event_types, []);
      for (const { e, type } of mapped) {
        if ((h.room_id !== null && h.room_id !== e.roomId) || !subscribed(types, type)) continue;
        rows.push({
          id: newId('whd'),
          webhook_id: h.id,
          event_type: type,
          event_id: `${e.roomId}:${e.seq}`,
          room_id: e.roomId,
          seq: e.seq,
          payload: JSON.stringify(eventPayload(h.id, type, e)),
          status: 'pending',
          max_attempts: this.opts.attempts,
          ordered: 1,
          created_at: now,
          updated_at: now,
        });
      }
    }
    await repo.insertDeliveries(rows);
  }

  start(): void {
    this.relayer.start();
  }

  nudge(): void {
    this.relayer.nudge();
  }

  relay(): Promise<number> {
    return this.relayer.relay();
  }

  close(): Promise<void> {
    return this.relayer.close();
  }
}
