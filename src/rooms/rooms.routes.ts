import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import {
  ErrorBody,
  envelope,
  Id,
  MemberSchema,
  OffsetPagination,
  PageQuery,
  RoomSchema,
  RoomSettingsSchema,
  StringEnum,
} from '../http/schemas.js';
import { ROLES, ROOM_TYPES } from './room-model.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const RoomParams = Type.Object({ roomId: Id });
const MemberParams = Type.Object({ roomId: Id, userId: Id });
const SettingsPatch = Type.Partial(RoomSettingsSchema, { additionalProperties: false });
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Description = Type.String({ maxLength: 1000 });
const Avatar = Type.Union([Type.String({ format: 'uri', maxLength: 2048 }), Type.Null()]);
const MaxMembers = Type.Integer({ minimum: 2, maximum: 100_000 });
const Ok = envelope(Type.Object({ ok: Type.Literal(true) }));

export function roomsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { rooms } = deps;

    app.get(
      '/rooms',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Rooms you can see: public and announcement rooms, and rooms you are in',
          querystring: Type.Composite([
            PageQuery,
            Type.Object({
              type: Type.Optional(StringEnum(ROOM_TYPES)),
              joined: Type.Optional(Type.Boolean({ description: 'Only rooms you are a member of' })),
            }),
          ]),
          response: {
            200: envelope(Type.Object({ rooms: Type.Array(RoomSchema), pagination: OffsetPagination })),
            ...errors,
          },
        },
      },
      async (req) => {
        const page = await rooms.list(req.principal, req.query);
        const { items, ...pagination } = page;
        return { success: true as const, data: { rooms: items, pagination } };
      },
    );

    app.post(
      '/rooms',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Create a room; you become its owner',
          body: Type.Object(
            {
              name: Name,
              description: Type.Optional(Description),
              type: StringEnum(['public', 'private', 'group', 'announcement'] as const),
              avatar: Type.Optional(Avatar),
              maxMembers: Type.Optional(MaxMembers),
              allowInvites: Type.Optional(Type.Boolean()),
              memberIds: Type.Optional(
                Type.Array(Id, { maxItems: 100, description: 'Users added on creation' }),
              ),
              settings: Type.Optional(SettingsPatch),
            },
            { additionalProperties: false },
          ),
          response: { 201: envelope(RoomSchema), ...errors },
        },
      },
      async (req, reply) =>
        reply.status(201).send({ success: true, data: await rooms.create(req.principal, req.body) }),
    );

    app.post(
      '/direct',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Open (find or create) the direct conversation with a user',
          body: Type.Object({ userId: Id }, { additionalProperties: false }),
          response: { 200: envelope(RoomSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await rooms.findOrCreateDirect(req.principal, req.body.userId),
      }),
    );

    app.get(
      '/rooms/:roomId',
      {
        schema: {
          tags: ['rooms'],
          summary: 'A room',
          params: RoomParams,
          response: { 200: envelope(RoomSchema), ...errors },
        },
      },
      async (req) => ({ success: true as const, data: await rooms.get(req.principal, req.params.roomId) }),
    );

    app.patch(
      '/rooms/:roomId',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Update name, description, avatar, member limit or settings (room admins)',
          params: RoomParams,
          body: Type.Object(
            {
              name: Type.Optional(Name),
              description: Type.Optional(Description),
              avatar: Type.Optional(Avatar),
              maxMembers: Type.Optional(MaxMembers),
              settings: Type.Optional(SettingsPatch),
            },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: envelope(RoomSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await rooms.update(req.principal, req.params.roomId, req.body),
      }),
    );

    app.post(
      '/rooms/:roomId/join',
      {
        // The body is optional: a bodyless join is an empty one.
        preValidation: async (req) => {
          (req as { body?: unknown }).body ??= {};
        },
        schema: {
          tags: ['rooms'],
          summary:
            'Join a public or announcement room; one with settings.requireApproval records a join request (202)',
          params: RoomParams,
          body: Type.Object(
            { message: Type.Optional(Type.String({ maxLength: 300 })) },
            { additionalProperties: false },
          ),
          response: {
            200: envelope(RoomSchema),
            202: envelope(Type.Object({ status: Type.Literal('pending') })),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const out = await deps.joinRequests.join(req.principal, req.params.roomId, req.body.message);
        if (out.status === 'pending') {
          reply.code(202);
          return { success: true as const, data: { status: 'pending' as const } };
        }
        return { success: true as const, data: out.room };
      },
    );

    app.delete(
      '/rooms/:roomId/leave',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Leave a room',
          params: RoomParams,
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        await rooms.leave(req.principal, req.params.roomId);
        return { success: true as const, data: { ok: true as const } };
      },
    );

    app.post(
      '/rooms/:roomId/invite',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Add users to a room',
          params: RoomParams,
          body: Type.Object(
            { userIds: Type.Array(Id, { minItems: 1, maxItems: 100 }) },
            { additionalProperties: false },
          ),
          response: { 200: envelope(Type.Object({ members: Type.Array(MemberSchema) })), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: { members: await rooms.invite(req.principal, req.params.roomId, req.body.userIds) },
      }),
    );

    app.get(
      '/rooms/:roomId/members',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Members of a room',
          params: RoomParams,
          querystring: PageQuery,
          response: {
            200: envelope(Type.Object({ members: Type.Array(MemberSchema), pagination: OffsetPagination })),
            ...errors,
          },
        },
      },
      async (req) => {
        const { items, ...pagination } = await rooms.members(
          req.principal,
          req.params.roomId,
          req.query.limit,
          req.query.offset,
        );
        return { success: true as const, data: { members: items, pagination } };
      },
    );

    app.patch(
      '/rooms/:roomId/members/:userId',
      {
        schema: {
          tags: ['rooms'],
          summary: "Change a member's role (room admins; `owner` transfers ownership)",
          params: MemberParams,
          body: Type.Object({ role: StringEnum(ROLES) }, { additionalProperties: false }),
          response: { 200: envelope(MemberSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await rooms.setRole(req.principal, req.params.roomId, req.params.userId, req.body.role),
      }),
    );

    app.delete(
      '/rooms/:roomId/members/:userId',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Remove (kick) a member (moderators)',
          params: MemberParams,
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        await rooms.kick(req.principal, req.params.roomId, req.params.userId);
        return { success: true as const, data: { ok: true as const } };
      },
    );

    app.get(
      '/rooms/:roomId/bans',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Banned users (moderators)',
          params: RoomParams,
          response: {
            200: envelope(
              Type.Object({
                bans: Type.Array(
                  Type.Object({
                    userId: Type.String(),
                    bannedBy: Type.String(),
                    reason: Type.Union([Type.String(), Type.Null()]),
                    createdAt: Type.String(),
                    expiresAt: Type.Union([Type.String(), Type.Null()]),
                  }),
                ),
              }),
            ),
            ...errors,
          },
        },
      },
      async (req) => ({
        success: true as const,
        data: { bans: await rooms.bans(req.principal, req.params.roomId) },
      }),
    );

    app.post(
      '/rooms/:roomId/bans',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Ban a user from the room (moderators); removes them if they are a member',
          params: RoomParams,
          body: Type.Object(
            {
              userId: Id,
              reason: Type.Optional(Type.String({ maxLength: 500 })),
              durationSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        const { userId, reason, durationSeconds } = req.body;
        await rooms.ban(req.principal, req.params.roomId, userId, reason ?? null, durationSeconds);
        return { success: true as const, data: { ok: true as const } };
      },
    );

    app.delete(
      '/rooms/:roomId/bans/:userId',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Lift a ban (moderators)',
          params: MemberParams,
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        await rooms.unban(req.principal, req.params.roomId, req.params.userId);
        return { success: true as const, data: { ok: true as const } };
      },
    );
  };
}
