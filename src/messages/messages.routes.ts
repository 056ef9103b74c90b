import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { eventFrame } from '../events/room-event.js';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id, MessageSchema, RoomEventSchema, StringEnum } from '../http/schemas.js';
import { USER_MESSAGE_TYPES } from './message-model.js';
import type { SendResult } from './send-batch.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
};
const RoomParams = Type.Object({ roomId: Id });
const MessageParams = Type.Object({ roomId: Id, messageId: Id });
const ReactionParams = Type.Object({
  roomId: Id,
  messageId: Id,
  emoji: Type.String({ minLength: 1, maxLength: 32 }),
});
const Cursor = Type.String({
  pattern: '^([0-9]{1,15}|msg_[a-z0-9]{1,40})$',
  description: 'A seq or a message id',
});

const SendBody = Type.Object(
  {
    content: Type.String({
      description: 'At most MAX_MESSAGE_LENGTH characters; not blank unless the message has attachments',
    }),
    type: Type.Optional(StringEnum(USER_MESSAGE_TYPES)),
    replyTo: Type.Optional(Type.Union([Id, Type.Null()])),
    clientMsgId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Idempotency key: a retried send returns the first message',
      }),
    ),
    isAnonymous: Type.Optional(
      Type.Boolean({ description: 'Post under an alias; the room must have settings.allowAnonymous' }),
    ),
    anonymousName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: 'Alias for isAnonymous (default "Anonymous")',
      }),
    ),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 20 }),
    ),
    attachments: Type.Optional(
      Type.Array(Id, {
        maxItems: 10,
        description: "Ids of your completed uploads to this room; type defaults to the first one's kind",
      }),
    ),
  },
  { additionalProperties: false },
);

const SendResponse = envelope(Type.Composite([MessageSchema, Type.Object({ duplicate: Type.Boolean() })]));

/** 201 for a new message, 200 for a retried clientMsgId answered with the stored one. */
function sendResult(reply: FastifyReply, r: SendResult) {
  return reply
    .status(r.duplicate ? 200 : 201)
    .send({ success: true, data: { ...r.message, duplicate: r.duplicate } });
}

export function messagesRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { messages } = deps;

    app.get(
      '/rooms/:roomId/messages',
      {
        schema: {
          tags: ['messages'],
          summary: 'Message history, oldest first. Without cursors: the newest page.',
          params: RoomParams,
          querystring: Type.Object({
            before: Type.Optional(Cursor),
            after: Type.Optional(Cursor),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
          }),
          response: {
            200: envelope(
              Type.Object({
                messages: Type.Array(MessageSchema),
                pagination: Type.Object({
                  hasMore: Type.Boolean(),
                  limit: Type.Integer(),
                  before: Type.Union([Type.Integer(), Type.Null()], {
                    description: 'Pass as `before` for older messages',
                  }),
                  after: Type.Union([Type.Integer(), Type.Null()], {
                    description: 'Pass as `after` for newer messages',
                  }),
                }),
              }),
            ),
            ...errors,
          },
        },
      },
      async (req) => ({
        success: true as const,
        data: await messages.history(req.principal, req.params.roomId, req.query),
      }),
    );

    app.post(
      '/rooms/:roomId/messages',
      {
        schema: {
          tags: ['messages'],
          summary: 'Send a message (answered after it is committed)',
          params: RoomParams,
          body: SendBody,
          response: { 200: SendResponse, 201: SendResponse, ...errors },
        },
      },
      async (req, reply) => {
        const r = await messages.send(req.principal, req.params.roomId, req.body);
        return sendResult(reply, r);
      },
    );

    app.post(
      '/direct/:userId/messages',
      {
        schema: {
          tags: ['messages'],
          summary: 'Send a direct message to a user (opens the conversation on first use)',
          params: Type.Object({ userId: Id }),
          body: SendBody,
          response: { 200: SendResponse, 201: SendResponse, ...errors },
        },
      },
      async (req, reply) => {
        const r = await messages.sendDirect(req.principal, req.params.userId, req.body);
        return sendResult(reply, r);
      },
    );

    app.get(
      '/rooms/:roomId/messages/:messageId',
      {
        schema: {
          tags: ['messages'],
          summary: 'One message',
          params: MessageParams,
          response: { 200: envelope(MessageSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await messages.get(req.principal, req.params.roomId, req.params.messageId),
      }),
    );

    app.patch(
      '/rooms/:roomId/messages/:messageId',
      {
        schema: {
          tags: ['messages'],
          summary: 'Edit your message',
          params: MessageParams,
          body: Type.Object({ content: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
          response: { 200: envelope(MessageSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await messages.edit(req.principal, req.params.roomId, req.params.messageId, req.body.content),
      }),
    );

    app.delete(
      '/rooms/:roomId/messages/:messageId',
      {
        schema: {
          tags: ['messages'],
          summary: "Delete a message (yours, or anyone's as a moderator); leaves a tombstone",
          params: MessageParams,
          response: { 200: envelope(Type.Object({ ok: Type.Literal(true) })), ...errors },
        },
      },
      async (req) => {
        await messages.delete(req.principal, req.params.roomId, req.params.messageId);
        return { success: true as const, data: { ok: true as const } };
      },
    );

    const reactionResponse = {
      200: envelope(Type.Object({ emoji: Type.String(), users: Type.Array(Type.String()) })),
      ...errors,
    };
    /** One handler for adding and removing: answers the emoji's users after the change. */
    const react =
      (add: boolean) =>
      async (req: { principal: Principal; params: { roomId: string; messageId: string; emoji: string } }) => {
        const { roomId, messageId, emoji } = req.params;
        return {
          success: true as const,
          data: { emoji, users: await messages.react(req.principal, roomId, messageId, emoji, add) },
        };
      };
    app.put(
      '/rooms/:roomId/messages/:messageId/reactions/:emoji',
      {
        schema: {
          tags: ['messages'],
          summary: 'Add your reaction',
          params: ReactionParams,
          response: reactionResponse,
        },
      },
      react(true),
    );
    app.delete(
      '/rooms/:roomId/messages/:messageId/reactions/:emoji',
      {
        schema: {
          tags: ['messages'],
          summary: 'Remove your reaction',
          params: ReactionParams,
          response: reactionResponse,
        },
      },
      react(false),
    );

    app.put(
      '/rooms/:roomId/messages/:messageId/pin',
      {
        schema: {
          tags: ['messages'],
          summary: 'Pin a message',
          params: MessageParams,
          response: { 200: envelope(MessageSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await messages.pin(req.principal, req.params.roomId, req.params.messageId, true),
      }),
    );
    app.delete(
      '/rooms/:roomId/messages/:messageId/pin',
      {
        schema: {
          tags: ['messages'],
          summary: 'Unpin a message',
          params: MessageParams,
          response: { 200: envelope(MessageSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await messages.pin(req.principal, req.params.roomId, req.params.messageId, false),
      }),
    );
    app.get(
      '/rooms/:roomId/pins',
      {
        schema: {
          tags: ['messages'],
          summary: 'Pinned messages, newest pin first',
          params: RoomParams,
          response: { 200: envelope(Type.Object({ messages: Type.Array(MessageSchema) })), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: { messages: await messages.pinned(req.principal, req.params.roomId) },
      }),
    );

    app.get(
      '/rooms/:roomId/events',
      {
        schema: {
          tags: ['messages'],
          summary: 'The room log after a seq: every logged event, in order (for catching up)',
          params: RoomParams,
          querystring: Type.Object({
            after: Type.Integer({ minimum: 0, default: 0 }),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          }),
          response: {
            200: envelope(
              Type.Object({
                events: Type.Array(RoomEventSchema),
                hasMore: Type.Boolean(),
                lastSeq: Type.Integer(),
              }),
            ),
            ...errors,
          },
        },
      },
      async (req) => {
        const r = await messages.events(req.principal, req.params.roomId, req.query.after, req.query.limit);
        return { success: true as const, data: { ...r, events: r.events.map(eventFrame) } };
      },
    );
  };
}
