import { parseJson } from '../shared/json.js';
import type { DeliverySummaryRow } from './webhooks.repository.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A delivery in the deliveries log. */
export interface DeliveryView {
  deliveryId: string;
  webhookId: string;
  event: string;
  /** `<roomId>:<seq>` (or `ping:<deliveryId>`): the same for redeliveries of one event. */
  eventId: string;
  roomId: string | null;
  seq: number | null;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** The start of the receiver's last answer. */
  lastResponse: string | null;
  redeliveryOf: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
  /** The body sent (single delivery views only). */
  payload?: unknown;
}

export function toDeliveryView(r: DeliverySummaryRow, payload?: string): DeliveryView {
  return {
    deliveryId: r.id,
    webhookId: r.webhook_id,
    event: r.event_type,
    eventId: r.event_id,
    roomId: r.room_id,
    seq: r.seq,
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastResponse: r.last_response,
    redeliveryOf: r.redelivery_of,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at).toISOString(),
    ...(payload !== undefined ? { payload: parseJson<unknown>(payload, null) } : {}),
  };
}
