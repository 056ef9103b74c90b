import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id } from '../http/schemas.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const Receipt = Type.Object({
  roomId: Type.String(),
  userId: Type.String(),
  readSeq: Type.Integer(),
  deliveredSeq: Type.Integer(),
  unreadCount: Type.Integer(),
});
const params = Type.Object({ roomId: Id });
const body = Type.Object({ seq: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

export function receiptsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/rooms/:roomId/read',
      {
        schema: {
          tags: ['receipts'],
          summary: 'Mark the room read up to a seq (clamped to the head); members get a receipt_update',
          params,
          body,
          response: { 200: envelope(Receipt), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await deps.receipts.markRead(req.principal, req.params.roomId, req.body.seq),
      }),
    );

    app.post(
      '/rooms/:roomId/delivered',
      {
        schema: {
          tags: ['receipts'],
          summary: 'Acknowledge receipt of the room up to a seq (drives `delivered` status for senders)',
          params,
          body,
          response: { 200: envelope(Receipt), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await deps.receipts.markDelivered(req.principal, req.params.roomId, req.body.seq),
      }),
    );
  };
}
