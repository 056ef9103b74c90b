import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, IsoTime, StringEnum } from '../http/schemas.js';
import { ANNOUNCEMENT_LEVELS } from './announcements.service.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

export const AnnouncementSchema = Type.Object(
  {
    messageId: Type.String(),
    roomId: Type.String(),
    seq: Type.Integer(),
    title: Type.Optional(Type.String()),
    content: Type.String(),
    level: StringEnum(ANNOUNCEMENT_LEVELS),
    createdAt: IsoTime,
    authorId: Type.String(),
  },
  { title: 'Announcement' },
);

/** Registered under `/v1`: the admin route under `/admin`, reading for everyone. */
export function announcementsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { announcements } = deps;

    app.post(
      '/admin/announcements',
      {
        schema: {
          tags: ['announcements'],
          summary:
            'Post a system announcement (server admins): stored in the system room, pushed to everyone',
          body: Type.Object(
            {
              content: Type.String({
                minLength: 1,
                pattern: '\\S',
                description: 'At most MAX_MESSAGE_LENGTH characters',
              }),
              title: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })),
              level: Type.Optional(StringEnum(ANNOUNCEMENT_LEVELS)),
            },
            { additionalProperties: false },
          ),
          response: { 201: envelope(AnnouncementSchema), ...errors },
        },
      },
      async (req, reply) =>
        reply.status(201).send({ success: true, data: await announcements.post(req.principal, req.body) }),
    );

    app.get(
      '/announcements',
      {
        schema: {
          tags: ['announcements'],
          summary: 'System announcements, newest first',
          querystring: Type.Object({
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            before: Type.Optional(
              Type.Integer({ minimum: 1, description: 'Only announcements with a lower seq' }),
            ),
          }),
          response: {
            200: envelope(
              Type.Object({
                announcements: Type.Array(AnnouncementSchema),
                pagination: Type.Object({
                  hasMore: Type.Boolean(),
                  limit: Type.Integer(),
                  before: Type.Union([Type.Integer(), Type.Null()], {
                    description: 'Pass as `before` for the next (older) page',
                  }),
                }),
              }),
            ),
            ...errors,
          },
        },
      },
      async (req) => ({ success: true as const, data: await announcements.list(req.principal, req.query) }),
    );
  };
}
