import type { RoomEvent } from '../events/room-event.js';
import { parseJson } from '../shared/json.js';
import type { WebhookRow } from './webhooks.repository.js';

/** Event types a webhook may subscribe to ("*" for all); `ping` is sent on request only. */
export const WEBHOOK_EVENTS = [
  'message.created',
  'message.edited',
  'message.deleted',
  'message.pinned',
  'message.unpinned',
  'reaction.updated',
  'poll.updated',
  'member.joined',
  'member.left',
  'member.role_changed',
  'member.muted',
  'room.created',
  'room.updated',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The webhook event of a room log event, or undefined for events webhooks do not carry. */
export function webhookEventOf(e: RoomEvent): WebhookEvent | undefined {
  switch (e.type) {
    case 'new_message':
      return 'message.created';
    case 'message_updated': {
      const change = (e as RoomEvent<'message_updated'>).body.change;
      return change === 'edit' ? 'message.edited' : change === 'pin' ? 'message.pinned' : 'message.unpinned';
    }
    case 'message_deleted':
      return 'message.deleted';
    case 'reaction_updated':
      return 'reaction.updated';
    case 'poll_updated':
      return 'poll.updated';
    case 'user_joined':
      return 'member.joined';
    case 'user_left':
      return 'member.left';
    case 'member_updated':
      return 'member.role_changed';
    case 'member_muted':
      return 'member.muted';
    case 'room_created':
      return 'room.created';
    case 'room_updated':
      return 'room.updated';
    default:
      return undefined;
  }
}

/** Whether a webhook subscribed to `event`. */
export function subscribed(eventTypes: readonly string[], event: string): boolean {
  return eventTypes.includes('*') || eventTypes.includes(event);
}

/** The JSON body of a delivery (the same for every attempt and redelivery of it). */
export interface WebhookPayload {
  /** `<roomId>:<seq>` for room events, `ping:<deliveryId>` for pings: dedupe on it. */
  eventId: string;
  type: WebhookEvent | 'ping';
  webhookId: string;
  /** When the event happened, ISO 8601. */
  createdAt: string;
  roomId: string | null;
  /** The event's place in its room's log. */
  seq: number | null;
  actorId: string | null;
  /** The event's fields, as clients receive them (docs/protocol.md). */
  data: Record<string, unknown>;
}

export function eventPayload(webhookId: string, type: WebhookEvent, e: RoomEvent): WebhookPayload {
  return {
    eventId: `${e.roomId}:${e.seq}`,
    type,
    webhookId,
    createdAt: new Date(e.createdAt).toISOString(),
    roomId: e.roomId,
    seq: e.seq,
    actorId: e.actorId,
    data: e.body as unknown as Record<string, unknown>,
  };
}

export interface WebhookView {
  webhookId: string;
  /** Null for a global webhook (every room). */
  roomId: string | null;
  url: string;
  events: string[];
  description: string;
  active: boolean;
  /** Why the server turned it off (the receiver answered 410 Gone, too many failures). */
  disabledReason: string | null;
  consecutiveFailures: number;
  totalDeliveries: number;
  totalFailures: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface CreatedWebhook extends WebhookView {
  /** Signs deliveries; shown once (and again only by rotating it). */
  secret: string;
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toWebhookView(r: WebhookRow): WebhookView {
  return {
    webhookId: r.id,
    roomId: r.room_id,
    url: r.url,
    events: parseJson<string[]>(r.event_types, []),
    description: r.description,
    active: r.active === 1,
    disabledReason: r.disabled_reason,
    consecutiveFailures: r.consecutive_failures,
    totalDeliveries: r.total_deliveries,
    totalFailures: r.total_failures,
    lastSuccessAt: isoOrNull(r.last_success_at),
    lastFailureAt: isoOrNull(r.last_failure_at),
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}
