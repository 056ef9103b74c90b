import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id, StringEnum } from '../http/schemas.js';
import { PRESENCE_STATUSES } from './presence-store.js';

const PresenceSchema = Type.Object({
  userId: Type.String(),
  status: StringEnum(PRESENCE_STATUSES),
  customStatus: Type.Union([Type.String(), Type.Null()]),
  lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const errors = { 400: ErrorBody, 401: ErrorBody };

export function presenceRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/',
      {
        schema: {
          tags: ['presence'],
          summary: 'Presence of the given users',
          querystring: Type.Object({
            userIds: Type.Array(Id, { minItems: 1, maxItems: 200, description: 'Repeat or comma-separate' }),
          }),
          response: { 200: envelope(Type.Object({ users: Type.Array(PresenceSchema) })), ...errors },
        },
        preValidation: async (req) => {
          // Accept `?userIds=a,b` as well as `?userIds=a&userIds=b`.
          const q = req.query as { userIds?: string | string[] };
          if (typeof q.userIds === 'string') q.userIds = q.userIds.split(',').filter(Boolean);
        },
      },
      async (req) => ({
        success: true as const,
        data: { users: await deps.presence.get(req.query.userIds) },
      }),
    );

    app.get(
      '/active',
      {
        schema: {
          tags: ['presence'],
          summary: 'Users connected now',
          querystring: Type.Object({
            limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
            offset: Type.Integer({ minimum: 0, default: 0 }),
          }),
          response: {
            200: envelope(Type.Object({ users: Type.Array(PresenceSchema), total: Type.Integer() })),
            ...errors,
          },
        },
      },
      async (req) => ({
        success: true as const,
        data: await deps.presence.active(req.query.limit, req.query.offset),
      }),
    );

    app.put(
      '/me',
      {
        schema: {
          tags: ['presence'],
          summary: 'Set your status (while connected) and custom status text',
          body: Type.Object(
            {
              status: StringEnum(['online', 'away', 'busy'] as const),
              customStatus: Type.Optional(Type.Union([Type.String({ maxLength: 140 }), Type.Null()])),
            },
            { additionalProperties: false },
          ),
          response: { 200: envelope(PresenceSchema), ...errors },
        },
      },
      async (req) => {
        await deps.presence.setStatus(req.principal.userId, req.body.status, req.body.customStatus ?? null);
        const [me] = await deps.presence.get([req.principal.userId]);
        return { success: true as const, data: me! };
      },
    );
  };
}
