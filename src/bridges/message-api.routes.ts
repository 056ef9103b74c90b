import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorBody, envelope, MessageSchema, StringEnum } from '../http/schemas.js';
import { enforceRateLimit } from '../ratelimit/enforce.js';
import type { Bridges } from './create-bridges.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  413: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
};

/** Seed 003's priorities are capitalised (`Normal`); either spelling works. */
const PRIORITY_VALUES = ['low', 'normal', 'high', 'urgent', 'Low', 'Normal', 'High', 'Urgent'] as const;
const ExternalId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s:][^\\s]*$' });

const PostMessageBody = Type.Object(
  {
    user_id: Type.String({ ...ExternalId, description: "The sender's id on your platform" }),
    platform: Type.String({
      minLength: 1,
      maxLength: 32,
      pattern: '^[A-Za-z0-9_-]+$',
      description:
        'Your platform\'s name (e.g. "Discord", "Twitter", "web"); one conversation per platform and thread',
    }),
    content: Type.String({
      minLength: 1,
      description: 'The message text (at most MAX_MESSAGE_LENGTH characters)',
    }),
    priority: Type.Optional(StringEnum(PRIORITY_VALUES)),
    thread_id: Type.Optional(
      Type.Union([
        Type.String({ ...ExternalId, description: 'Your conversation id; default: one per user' }),
        Type.Null(),
      ]),
    ),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 20 }),
    ),
    message_id: Type.Optional(
      Type.String({
        ...ExternalId,
        description: 'Your id for this message: a retry with the same id posts nothing new',
      }),
    ),
    user_name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Display name of the sender' }),
    ),
  },
  { additionalProperties: false },
);

const PostMessageResponse = envelope(
  Type.Object({
    status: Type.Literal('accepted'),
    messageId: Type.String(),
    conversationId: Type.String(),
    roomId: Type.String(),
    threadId: Type.String(),
    seq: Type.Integer(),
    duplicate: Type.Boolean({ description: 'A retry of a message_id already posted' }),
  }),
);

const security = [{ apiKey: [] }];

/**
 * `POST /message` and `GET /message/:messageId` for generic integrations (seed 003), with an API key
 * instead of a user token. Also under /v1/message.
 */
export function messageApiRoutes(b: Bridges) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const authenticate = async (req: FastifyRequest) => {
      const key = await b.apiKeys.authenticate(req.headers);
      await enforceRateLimit(b.messageApiLimiter, key.id, 'requests');
      return key;
    };

    for (const prefix of ['', '/v1']) {
      app.post(
        `${prefix}/message`,
        {
          config: { public: true },
          schema: {
            tags: ['bridges'],
            summary:
              'Post a message from an integration (API key); the AI answer follows in its conversation',
            security,
            body: PostMessageBody,
            response: { 202: PostMessageResponse, 200: PostMessageResponse, ...errors },
          },
        },
        async (req, reply) => {
          const key = await authenticate(req);
          const data = await b.messageApi.post(key, req.body);
          return reply.status(data.duplicate ? 200 : 202).send({ success: true as const, data });
        },
      );

      app.get(
        `${prefix}/message/:messageId`,
        {
          config: { public: true },
          schema: {
            tags: ['bridges'],
            summary: "A message posted with this key, and its replies (the assistant's answer among them)",
            security,
            params: Type.Object({ messageId: Type.String({ minLength: 1, maxLength: 64 }) }),
            response: {
              200: envelope(Type.Object({ message: MessageSchema, replies: Type.Array(MessageSchema) })),
              ...errors,
            },
          },
        },
        async (req) => {
          const key = await authenticate(req);
          return { success: true as const, data: await b.messageApi.get(key, req.params.messageId) };
        },
      );
    }
  };
}
