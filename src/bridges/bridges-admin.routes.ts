import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody, envelope, Id, IsoTime, Nullable, StringEnum } from '../http/schemas.js';
import { PLATFORMS } from './bridge-model.js';
import type { Bridges } from './create-bridges.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
};

const ApiKeySchema = Type.Object(
  {
    keyId: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: "The key's first characters" }),
    callbackUrl: Nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: IsoTime,
    lastUsedAt: Nullable(IsoTime),
    revokedAt: Nullable(IsoTime),
  },
  { title: 'ApiKey' },
);

const ConversationSchema = Type.Object(
  {
    conversationId: Type.String(),
    platform: StringEnum(PLATFORMS),
    externalId: Type.String({
      description: 'The conversation on the platform (chat, channel, team:channel, key:platform:thread)',
    }),
    roomId: Type.String(),
    title: Type.String(),
    apiKeyId: Nullable(Type.String()),
    sessionStartedAt: Type.String({ description: 'Start of the current 24 h AI session' }),
    createdAt: IsoTime,
  },
  { title: 'BridgeConversation' },
);

const LINKABLE = ['telegram', 'slack', 'discord'] as const;

/** Server admins: API keys for POST /message, bridge status, conversations. */
export function bridgesAdminRoutes(b: Bridges) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['bridges'];

    app.post(
      '/admin/api-keys',
      {
        schema: {
          tags,
          summary: 'Create an API key for POST /message (the key and callback secret are shown once)',
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 100 }),
              callbackUrl: Type.Optional(
                Nullable(
                  Type.String({
                    minLength: 1,
                    maxLength: 2048,
                    description: 'Receives replies (https or http)',
                  }),
                ),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            201: envelope(
              Type.Composite([
                ApiKeySchema,
                Type.Object({ apiKey: Type.String(), callbackSecret: Nullable(Type.String()) }),
              ]),
            ),
            ...errors,
          },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send({ success: true as const, data: await b.apiKeys.create(req.principal, req.body) }),
    );

    app.get(
      '/admin/api-keys',
      {
        schema: {
          tags,
          summary: 'API keys (never the keys themselves)',
          response: { 200: envelope(Type.Object({ keys: Type.Array(ApiKeySchema) })), ...errors },
        },
      },
      async (req) => ({ success: true as const, data: { keys: await b.apiKeys.list(req.principal) } }),
    );

    app.delete(
      '/admin/api-keys/:keyId',
      {
        schema: {
          tags,
          summary: 'Revoke an API key',
          params: Type.Object({ keyId: Id }),
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await b.apiKeys.revoke(req.principal, req.params.keyId);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/admin/bridges',
      {
        schema: {
          tags,
          summary: 'Which bridges are on',
          response: {
            200: envelope(
              Type.Object({
                platforms: Type.Array(
                  Type.Object({
                    platform: StringEnum(PLATFORMS),
                    configured: Type.Boolean(),
                    inbound: Type.Array(Type.String()),
                    outbound: Type.Boolean(),
                    gatewayConnected: Type.Optional(Type.Boolean()),
                  }),
                ),
              }),
            ),
            ...errors,
          },
        },
      },
      async (req) => ({ success: true as const, data: { platforms: await b.admin.status(req.principal) } }),
    );

    app.get(
      '/admin/bridges/conversations',
      {
        schema: {
          tags,
          summary: 'Bridged conversations, newest first',
          querystring: Type.Object({
            platform: Type.Optional(StringEnum(PLATFORMS)),
            roomId: Type.Optional(Id),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            offset: Type.Integer({ minimum: 0, default: 0 }),
          }),
          response: {
            200: envelope(Type.Object({ conversations: Type.Array(ConversationSchema) })),
            ...errors,
          },
        },
      },
      async (req) => ({
        success: true as const,
        data: { conversations: await b.admin.conversations(req.principal, req.query) },
      }),
    );

    app.post(
      '/admin/bridges/conversations',
      {
        schema: {
          tags,
          summary: 'Link a platform conversation to an existing room (before its first message)',
          body: Type.Object(
            {
              platform: StringEnum(LINKABLE),
              externalId: Type.String({ minLength: 1, maxLength: 200 }),
              roomId: Id,
              title: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: envelope(ConversationSchema), ...errors },
        },
      },
      async (req, reply) =>
        reply.status(201).send({ success: true as const, data: await b.admin.link(req.principal, req.body) }),
    );

    app.delete(
      '/admin/bridges/conversations/:conversationId',
      {
        schema: {
          tags,
          summary: 'Unlink a conversation (the room and its history stay)',
          params: Type.Object({ conversationId: Id }),
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await b.admin.unlink(req.principal, req.params.conversationId);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/admin/bridges/conversations/:conversationId/staff',
      {
        schema: {
          tags,
          summary: "Add a user (you by default) to a bridged conversation's room as an admin",
          params: Type.Object({ conversationId: Id }),
          body: Type.Optional(Type.Object({ userId: Type.Optional(Id) }, { additionalProperties: false })),
          response: {
            200: envelope(Type.Object({ roomId: Type.String(), userId: Type.String() })),
            ...errors,
          },
        },
      },
      async (req) => ({
        success: true as const,
        data: await b.admin.addStaff(req.principal, req.params.conversationId, req.body?.userId),
      }),
    );
  };
}
