import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import { loadRoom, requireRole } from '../rooms/room-access.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';
import type { UsersService } from '../users/users.service.js';
import { type DeliveryView, toDeliveryView } from './delivery-views.js';
import { type TargetChecker, TargetRefusedError, TargetUnresolvedError } from './target-check.js';
import {
  type CreatedWebhook,
  toWebhookView,
  type WebhookPayload,
  type WebhookView,
} from './webhook-model.js';
import type { WebhookRow, WebhooksRepository } from './webhooks.repository.js';

/** Every secret starts with this, so a leaked one is easy to spot (secret scanners). */
export const WEBHOOK_SECRET_PREFIX = 'sbwh_';
/** Longest grace period of a rotated secret, seconds (7 days). */
export const MAX_ROTATE_GRACE_S = 7 * 24 * 3600;

/** Server admins manage every webhook (`/v1/admin/webhooks`); room admins their room's (`/v1/chat/rooms/:roomId/webhooks`). */
export type WebhookScope = { kind: 'admin' } | { kind: 'room'; roomId: string };

export interface WebhookLimits {
  maxPerRoom: number;
  maxGlobal: number;
  /** Attempts of a redelivery. */
  attempts: number;
}

export interface CreateWebhookInput {
  url: string;
  events: string[];
  description?: string;
  active?: boolean;
  /** Admin scope only: the room (null or absent: global). */
  roomId?: string | null;
}

export interface UpdateWebhookInput {
  url?: string;
  events?: string[];
  description?: string;
  active?: boolean;
}

export interface Paged<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
}

/** Registration and management of outgoing webhooks; deliveries are made by WebhookRunner. */
export class WebhooksService {
  constructor(
    private readonly d: {
      store: Store;
      repo: WebhooksRepository;
      users: UsersService;
      checker: TargetChecker;
      limits: WebhookLimits;
      /** A webhook was created, changed or deleted (caches refresh), or a delivery row written (relay). */
      changed: () => void;
      now: () => number;
    },
  ) {}

  async create(p: Principal, scope: WebhookScope, input: CreateWebhookInput): Promise<CreatedWebhook> {
    await this.authorize(p, scope);
    const roomId = scope.kind === 'room' ? scope.roomId : (input.roomId ?? null);
    if (scope.kind === 'admin' && roomId !== null && !(await this.d.store.repos.rooms.findById(roomId)))
      throw Errors.roomNotFound();
    const url = await this.checkUrl(input.url);
    const max = roomId === null ? this.d.limits.maxGlobal : this.d.limits.maxPerRoom;
    if ((await this.d.repo.countWebhooks(roomId)) >= max) {
      throw Errors.tooManyWebhooks(
        roomId === null
          ? `At most ${max} global webhooks; delete one first`
          : `At most ${max} webhooks per room; delete one first`,
        { limit: max },
      );
    }
    const now = this.d.now();
    const secret = newSecret();
    const row = {
      id: newId('wh'),
      room_id: roomId,
      url,
      event_types: JSON.stringify(normalizeEvents(input.events)),
      description: (input.description ?? '').trim(),
      secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      active: input.active === false ? 0 : 1,
      disabled_reason: null,
      last_success_at: null,
      last_failure_at: null,
      created_by: p.userId,
      created_at: now,
      updated_at: now,
    };
    await this.d.repo.insertWebhook(row);
    this.d.changed();
    return { ...toWebhookView(await this.required(row.id)), secret };
  }

  async list(
    p: Principal,
    scope: WebhookScope,
    q: { roomId?: string; global?: boolean; limit: number; offset: number },
  ): Promise<Paged<WebhookView>> {
    await this.authorize(p, scope);
    const roomId = scope.kind === 'room' ? scope.roomId : q.global ? null : q.roomId;
    const { rows, total } = await this.d.repo.listWebhooks({
      ...(roomId !== undefined ? { roomId } : {}),
      limit: q.limit,
      offset: q.offset,
    });
    return page(rows.map(toWebhookView), total, q);
  }

  async get(p: Principal, scope: WebhookScope, webhookId: string): Promise<WebhookView> {
    return toWebhookView(await this.find(p, scope, webhookId));
  }

  async update(
    p: Principal,
    scope: WebhookScope,
    webhookId: string,
    input: UpdateWebhookInput,
  ): Promise<WebhookView> {
    const hook = await this.find(p, scope, webhookId);
    const change: Parameters<WebhooksRepository['updateWebhook']>[1] = { updated_at: this.d.now() };
    if (input.url !== undefined) change.url = await this.checkUrl(input.url);
    if (input.events !== undefined) change.event_types = JSON.stringify(normalizeEvents(input.events));
    if (input.description !== undefined) change.description = input.description.trim();
    if (input.active === true && hook.active !== 1) {
      // Back on: the failure streak starts over.
      Object.assign(change, { active: 1, disabled_reason: null, consecutive_failures: 0 });
    } else if (input.active === false) Object.assign(change, { active: 0, disabled_reason: null });
    await this.d.repo.updateWebhook(hook.id, change);
    this.d.changed();
    return toWebhookView(await this.required(hook.id));
  }

  async remove(p: Principal, scope: WebhookScope, webhookId: string): Promise<void> {
    const hook = await this.find(p, scope, webhookId);
    await this.d.repo.deleteWebhook(hook.id);
    this.d.changed();
  }

  /**
   * A new secret, shown once. The old one keeps signing deliveries too (a second `v1=`) for
   * `graceSeconds`, so receivers can switch without rejecting anything.
   */
  async rotateSecret(
    p: Principal,
    scope: WebhookScope,
    webhookId: string,
    graceSeconds = 0,
  ): Promise<{ secret: string; previousSecretExpiresAt: string | null }> {
    const hook = await this.find(p, scope, webhookId);
    const now = this.d.now();
    const grace = Math.max(0, Math.min(MAX_ROTATE_GRACE_S, graceSeconds));
    const secret = newSecret();
    const expires = grace > 0 ? now + grace * 1000 : null;
    await this.d.repo.updateWebhook(hook.id, {
      secret,
      previous_secret: expires === null ? null : hook.secret,
      previous_secret_expires_at: expires,
      updated_at: now,
    });
    return { secret, previousSecretExpiresAt: expires === null ? null : new Date(expires).toISOString() };
  }

  /** Queues a `ping` delivery (one attempt, not held back by other deliveries); watch it in the log. */
  async ping(p: Principal, scope: WebhookScope, webhookId: string): Promise<DeliveryView> {
    const hook = await this.find(p, scope, webhookId);
    if (hook.active !== 1) throw Errors.webhookDisabled();
    const now = this.d.now();
    const id = newId('whd');
    const payload: WebhookPayload = {
      eventId: `ping:${id}`,
      type: 'ping',
      webhookId: hook.id,
      createdAt: new Date(now).toISOString(),
      roomId: hook.room_id,
      seq: null,
      actorId: p.userId,
      data: { message: 'Switchboard webhook ping', url: hook.url, events: toWebhookView(hook).events },
    };
    return this.enqueue({
      id,
      webhook_id: hook.id,
      event_type: 'ping',
      event_id: payload.eventId,
      room_id: hook.room_id,
      seq: null,
      payload: JSON.stringify(payload),
      max_attempts: 1,
      redelivery_of: null,
    });
  }

  /** Sends a finished delivery again as a new delivery (new id, same body and eventId). */
  async redeliver(
    p: Principal,
    scope: WebhookScope,
    webhookId: string,
    deliveryId: string,
  ): Promise<DeliveryView> {
    const hook = await this.find(p, scope, webhookId);
    const orig = await this.d.repo.findDelivery(deliveryId);
    if (!orig || orig.webhook_id !== hook.id) throw Errors.webhookDeliveryNotFound();
    if (orig.status === 'pending') throw Errors.conflict('This delivery is still being attempted');
    if (hook.active !== 1) throw Errors.webhookDisabled();
    return this.enqueue({
      id: newId('whd'),
      webhook_id: hook.id,
      event_type: orig.event_type,
      event_id: orig.event_id,
      room_id: orig.room_id,
      seq: orig.seq,
      payload: orig.payload,
      max_attempts: this.d.limits.attempts,
      redelivery_of: orig.id,
    });
  }

  async deliveries(
    p: Principal,
    scope: WebhookScope,
    webhookId: string,
    q: { status?: string; limit: number; offset: number },
  ): Promise<Paged<DeliveryView>> {
    const hook = await this.find(p, scope, webhookId);
    const { rows, total } = await this.d.repo.listDeliveries(hook.id, q);
    return page(
      rows.map((r) => toDeliveryView(r)),
      total,
      q,
    );
  }

  async delivery(
    p: Principal,
    scope: WebhookScope,
    webhookId: string,
    deliveryId: string,
  ): Promise<DeliveryView> {
    const hook = await this.find(p, scope, webhookId);
    const row = await this.d.repo.findDelivery(deliveryId);
    if (!row || row.webhook_id !== hook.id) throw Errors.webhookDeliveryNotFound();
    return toDeliveryView(row, row.payload);
  }

  private async enqueue(
    row: Omit<
      Parameters<WebhooksRepository['insertDeliveries']>[0][number],
      'status' | 'created_at' | 'updated_at'
    >,
  ): Promise<DeliveryView> {
    const now = this.d.now();
    await this.d.repo.insertDeliveries([
      { ...row, status: 'pending', ordered: 0, created_at: now, updated_at: now },
    ]);
    this.d.changed();
    const stored = await this.d.repo.findDelivery(row.id);
    return toDeliveryView(stored!, stored!.payload);
  }

  private async checkUrl(raw: string): Promise<string> {
    try {
      return (await this.d.checker.check(raw)).url.toString();
    } catch (err) {
      if (err instanceof TargetRefusedError || err instanceof TargetUnresolvedError)
        throw Errors.webhookUrlRefused(`url refused: ${err.message}`);
      throw err;
    }
  }

  /** The webhook if the caller may manage it in this scope; WEBHOOK_NOT_FOUND otherwise. */
  private async find(p: Principal, scope: WebhookScope, webhookId: string): Promise<WebhookRow> {
    await this.authorize(p, scope);
    const hook = await this.d.repo.findWebhook(webhookId);
    if (!hook || (scope.kind === 'room' && hook.room_id !== scope.roomId)) throw Errors.webhookNotFound();
    return hook;
  }

  private async required(id: string): Promise<WebhookRow> {
    const row = await this.d.repo.findWebhook(id);
    if (!row) throw Errors.webhookNotFound();
    return row;
  }

  /** Admin scope: server admins. Room scope: the room's owner and admins, and server admins. */
  private async authorize(p: Principal, scope: WebhookScope): Promise<void> {
    if (scope.kind === 'admin') return this.d.users.requireServerAdmin(p.userId);
    const me = await this.d.store.repos.users.findById(p.userId);
    if (me?.is_admin === 1) {
      if (!(await this.d.store.repos.rooms.findById(scope.roomId))) throw Errors.roomNotFound();
      return;
    }
    const access = await loadRoom(this.d.store.repos, p, scope.roomId, this.d.now());
    requireRole(access, 'admin', "manage this room's webhooks");
  }
}

function newSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** Unique, sorted, and just ["*"] when "*" is among them. */
function normalizeEvents(events: readonly string[]): string[] {
  if (events.includes('*')) return ['*'];
  return [...new Set(events)].sort();
}

function page<T>(items: T[], total: number, q: { limit: number; offset: number }): Paged<T> {
  return { items, total, limit: q.limit, offset: q.offset, hasMore: q.offset + items.length < total };
}
