import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorBody, envelope, Id, IsoTime, Nullable, OffsetPagination, StringEnum } from '../http/schemas.js';
import type { Webhooks } from './create-webhooks.js';
import { MAX_URL_LENGTH } from './target-check.js';
import { WEBHOOK_EVENTS } from './webhook-model.js';
import type { Paged, WebhookScope } from './webhooks.service.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
};

const EventName = StringEnum([...WEBHOOK_EVENTS, '*'] as const);
const Events = Type.Array(EventName, {
  minItems: 1,
  maxItems: WEBHOOK_EVENTS.length + 1,
  description: 'Event types to receive; "*" for all',
});
const Url = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'https or http' });

const WebhookSchema = Type.Object(
  {
    webhookId: Type.String(),
    roomId: Nullable(Type.String({ description: 'Null: a global webhook (every room)' })),
    url: Type.String(),
    events: Type.Array(Type.String()),
    description: Type.String(),
    active: Type.Boolean(),
    disabledReason: Nullable(Type.String()),
    consecutiveFailures: Type.Integer(),
    totalDeliveries: Type.Integer(),
    totalFailures: Type.Integer(),
    lastSuccessAt: Nullable(IsoTime),
    lastFailureAt: Nullable(IsoTime),
    createdBy: Type.String(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
  },
  { title: 'Webhook' },
);

const DeliverySchema = Type.Object(
  {
    deliveryId: Type.String(),
    webhookId: Type.String(),
    event: Type.String(),
    eventId: Type.String({ description: '<roomId>:<seq>, the same for redeliveries: dedupe on it' }),
    roomId: Nullable(Type.String()),
    seq: Nullable(Type.Integer()),
    status: StringEnum(['pending', 'delivered', 'failed'] as const),
    attempts: Type.Integer(),
    maxAttempts: Type.Integer(),
    lastStatusCode: Nullable(Type.Integer()),
    lastError: Nullable(Type.String()),
    lastResponse: Nullable(Type.String({ description: "The start of the receiver's last answer" })),
    redeliveryOf: Nullable(Type.String()),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    deliveredAt: Nullable(IsoTime),
    payload: Type.Optional(Type.Unknown({ description: 'The body sent (single delivery only)' })),
  },
  { title: 'WebhookDelivery' },
);

const Page = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});

const pagination = <T>(p: Paged<T>) => ({
  total: p.total,
  limit: p.limit,
  offset: p.offset,
  hasMore: p.hasMore,
});

/**
 * Webhook management, twice: `/admin/webhooks` for server admins (global webhooks, and any room's
 * with `roomId`), `/chat/rooms/:roomId/webhooks` for the room's owner and admins.
 */
export function webhooksRoutes(w: Webhooks) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    register(app, w, '/admin/webhooks', () => ({ kind: 'admin' }), true);
    register(
      app,
      w,
      '/chat/rooms/:roomId/webhooks',
      (req) => ({
        kind: 'room',
        roomId: (req.params as { roomId: string }).roomId,
      }),
      false,
    );
  };
}

function register(
  app: ReturnType<FastifyInstance['withTypeProvider']> & FastifyInstance,
  w: Webhooks,
  base: string,
  scopeOf: (req: FastifyRequest) => WebhookScope,
  admin: boolean,
) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['webhooks'];
  const who = admin ? 'server admins' : "the room's owner and admins";
  const baseParams = admin ? Type.Object({}) : Type.Object({ roomId: Id });
  const hookParams = admin ? Type.Object({ webhookId: Id }) : Type.Object({ roomId: Id, webhookId: Id });
  const deliveryParams = admin
    ? Type.Object({ webhookId: Id, deliveryId: Id })
    : Type.Object({ roomId: Id, webhookId: Id, deliveryId: Id });

  typed.post(
    base,
    {
      schema: {
        tags,
        summary: `Register a webhook (${who}); the signing secret is shown once`,
        params: baseParams,
        body: Type.Object(
          {
            url: Url,
            events: Events,
            description: Type.Optional(Type.String({ maxLength: 200 })),
            active: Type.Optional(Type.Boolean()),
            ...(admin ? { roomId: Type.Optional(Nullable(Id)) } : {}),
          },
          { additionalProperties: false },
        ),
        response: {
          201: envelope(Type.Composite([WebhookSchema, Type.Object({ secret: Type.String() })])),
          ...errors,
        },
      },
    },
    async (req, reply) =>
      reply.status(201).send({
        success: true as const,
        data: await w.service.create(req.principal, scopeOf(req), req.body as never),
      }),
  );

  typed.get(
    base,
    {
      schema: {
        tags,
        summary: admin
          ? "Webhooks: all, one room's (roomId) or the global ones (global=true)"
          : "The room's webhooks",
        params: baseParams,
        querystring: admin
          ? Type.Composite([
              Page,
              Type.Object({ roomId: Type.Optional(Id), global: Type.Optional(Type.Boolean()) }),
            ])
          : Page,
        response: {
          200: envelope(Type.Object({ webhooks: Type.Array(WebhookSchema), pagination: OffsetPagination })),
          ...errors,
        },
      },
    },
    async (req) => {
      const p = await w.service.list(req.principal, scopeOf(req), req.query as never);
      return { success: true as const, data: { webhooks: p.items, pagination: pagination(p) } };
    },
  );

  typed.get(
    `${base}/:webhookId`,
    {
      schema: {
        tags,
        summary: 'One webhook',
        params: hookParams,
        response: { 200: envelope(WebhookSchema), ...errors },
      },
    },
    async (req) => ({
      success: true as const,
      data: await w.service.get(req.principal, scopeOf(req), (req.params as { webhookId: string }).webhookId),
    }),
  );

  typed.patch(
    `${base}/:webhookId`,
    {
      schema: {
        tags,
        summary: 'Change a webhook; active=true turns a disabled one back on',
        params: hookParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            events: Type.Optional(Events),
            description: Type.Optional(Type.String({ maxLength: 200 })),
            active: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: envelope(WebhookSchema), ...errors },
      },
    },
    async (req) => ({
      success: true as const,
      data: await w.service.update(
        req.principal,
        scopeOf(req),
        (req.params as { webhookId: string }).webhookId,
        req.body as never,
      ),
    }),
  );

  typed.delete(
    `${base}/:webhookId`,
    {
      schema: {
        tags,
        summary: 'Delete a webhook and its deliveries log',
        params: hookParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await w.service.remove(req.principal, scopeOf(req), (req.params as { webhookId: string }).webhookId);
      return reply.status(204).send(null);
    },
  );

  typed.post(
    `${base}/:webhookId/rotate-secret`,
    {
      schema: {
        tags,
        summary: 'A new signing secret (shown once); the old one also signs for graceSeconds',
        params: hookParams,
        body: Type.Optional(
          Type.Object(
            { graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 })) },
            { additionalProperties: false },
          ),
        ),
        response: {
          200: envelope(Type.Object({ secret: Type.String(), previousSecretExpiresAt: Nullable(IsoTime) })),
          ...errors,
        },
      },
    },
    async (req) => ({
      success: true as const,
      data: await w.service.rotateSecret(
        req.principal,
        scopeOf(req),
        (req.params as { webhookId: string }).webhookId,
        (req.body as { graceSeconds?: number } | undefined)?.graceSeconds ?? 0,
      ),
    }),
  );

  typed.post(
    `${base}/:webhookId/ping`,
    {
      schema: {
        tags,
        summary: 'Send a ping delivery now (one attempt); watch it in the deliveries log',
        params: hookParams,
        response: { 202: envelope(DeliverySchema), ...errors },
      },
    },
    async (req, reply) =>
      reply.status(202).send({
        success: true as const,
        data: await w.service.ping(
          req.principal,
          scopeOf(req),
          (req.params as { webhookId: string }).webhookId,
        ),
      }),
  );

  typed.get(
    `${base}/:webhookId/deliveries`,
    {
      schema: {
        tags,
        summary: 'The deliveries log, newest first',
        params: hookParams,
        querystring: Type.Composite([
          Page,
          Type.Object({ status: Type.Optional(StringEnum(['pending', 'delivered', 'failed'] as const)) }),
        ]),
        response: {
          200: envelope(
            Type.Object({ deliveries: Type.Array(DeliverySchema), pagination: OffsetPagination }),
          ),
          ...errors,
        },
      },
    },
    async (req) => {
      const p = await w.service.deliveries(
        req.principal,
        scopeOf(req),
        (req.params as { webhookId: string }).webhookId,
        req.query as never,
      );
      return { success: true as const, data: { deliveries: p.items, pagination: pagination(p) } };
    },
  );

  typed.get(
    `${base}/:webhookId/deliveries/:deliveryId`,
    {
      schema: {
        tags,
        summary: 'One delivery, with the body sent',
        params: deliveryParams,
        response: { 200: envelope(DeliverySchema), ...errors },
      },
    },
    async (req) => {
      const ps = req.params as { webhookId: string; deliveryId: string };
      return {
        success: true as const,
        data: await w.service.delivery(req.principal, scopeOf(req), ps.webhookId, ps.deliveryId),
      };
    },
  );

  typed.post(
    `${base}/:webhookId/deliveries/:deliveryId/redeliver`,
    {
      schema: {
        tags,
        summary: 'Send a finished delivery again, as a new delivery with the same body and eventId',
        params: deliveryParams,
        response: { 202: envelope(DeliverySchema), ...errors },
      },
    },
    async (req, reply) => {
      const ps = req.params as { webhookId: string; deliveryId: string };
      return reply.status(202).send({
        success: true as const,
        data: await w.service.redeliver(req.principal, scopeOf(req), ps.webhookId, ps.deliveryId),
      });
    },
  );
}
