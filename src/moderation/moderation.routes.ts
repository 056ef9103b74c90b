import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id } from '../http/schemas.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const Mute = Type.Object({
  userId: Type.String(),
  mutedUntil: Type.Union([Type.String(), Type.Null()]),
});
const MuteSchema = envelope(Mute);

export function moderationRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { moderation } = deps;

    app.post(
      '/rooms/:roomId/mutes',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Mute a member for a while (moderators); they can read but not send',
          params: Type.Object({ roomId: Id }),
          body: Type.Object(
            {
              userId: Id,
              durationSeconds: Type.Integer({ minimum: 1, maximum: 31_536_000 }),
              reason: Type.Optional(Type.String({ maxLength: 500 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: MuteSchema, ...errors },
        },
      },
      async (req) => {
        const { userId, durationSeconds, reason } = req.body;
        return {
          success: true as const,
          data: await moderation.mute(req.principal, req.params.roomId, userId, durationSeconds, reason),
        };
      },
    );

    app.get(
      '/rooms/:roomId/mutes',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Members muted now, soonest end first (moderators)',
          params: Type.Object({ roomId: Id }),
          response: { 200: envelope(Type.Object({ mutes: Type.Array(Mute) })), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: { mutes: await moderation.listMutes(req.principal, req.params.roomId) },
      }),
    );

    app.delete(
      '/rooms/:roomId/mutes/:userId',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Lift a mute (moderators)',
          params: Type.Object({ roomId: Id, userId: Id }),
          response: { 200: MuteSchema, ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await moderation.unmute(req.principal, req.params.roomId, req.params.userId),
      }),
    );
  };
}
