import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id, MessageSchema } from '../http/schemas.js';
import { POLL_LIMITS } from './poll-model.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
};
const RoomParams = Type.Object({ roomId: Id });
const PollParams = Type.Object({ roomId: Id, messageId: Id });

export const PollSchema = Type.Object(
  {
    question: Type.String(),
    options: Type.Array(
      Type.Object({
        id: Type.String(),
        text: Type.String(),
        votes: Type.Integer(),
        voters: Type.Optional(Type.Array(Type.String(), { description: 'Left out in anonymous polls' })),
      }),
    ),
    totalVoters: Type.Integer(),
    closed: Type.Boolean(),
    multipleChoice: Type.Boolean(),
    anonymous: Type.Boolean(),
    myVotes: Type.Optional(Type.Array(Type.String(), { description: "The caller's chosen option ids" })),
  },
  { title: 'Poll' },
);

const CreateBody = Type.Object(
  {
    question: Type.String({ minLength: 1, maxLength: POLL_LIMITS.question }),
    options: Type.Array(Type.String({ minLength: 1, maxLength: POLL_LIMITS.option }), {
      minItems: POLL_LIMITS.minOptions,
      maxItems: POLL_LIMITS.maxOptions,
      description: 'Unique (ignoring case and surrounding spaces)',
    }),
    multipleChoice: Type.Optional(Type.Boolean()),
    anonymous: Type.Optional(Type.Boolean({ description: 'Votes are counted, voters are not shown' })),
  },
  { additionalProperties: false },
);

const VoteBody = Type.Object(
  {
    optionIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      maxItems: POLL_LIMITS.maxOptions,
      description: 'Single choice: one id, or none to retract. Multiple choice: 0..n ids.',
    }),
  },
  { additionalProperties: false },
);

export function pollsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { polls } = deps;

    app.post(
      '/rooms/:roomId/polls',
      {
        schema: {
          tags: ['polls'],
          summary: 'Create a poll: sends a message of type poll (content = question)',
          params: RoomParams,
          body: CreateBody,
          response: {
            201: envelope(Type.Object({ message: MessageSchema, poll: PollSchema })),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const data = await polls.create(req.principal, req.params.roomId, req.body);
        return reply.status(201).send({ success: true as const, data });
      },
    );

    app.get(
      '/rooms/:roomId/polls/:messageId',
      {
        schema: {
          tags: ['polls'],
          summary: 'A poll with its counts and your own votes',
          params: PollParams,
          response: { 200: envelope(PollSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await polls.get(req.principal, req.params.roomId, req.params.messageId),
      }),
    );

    app.put(
      '/rooms/:roomId/polls/:messageId/votes',
      {
        schema: {
          tags: ['polls'],
          summary: 'Vote, change your vote, or retract it (empty optionIds)',
          params: PollParams,
          body: VoteBody,
          response: { 200: envelope(PollSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await polls.vote(req.principal, req.params.roomId, req.params.messageId, req.body.optionIds),
      }),
    );

    app.post(
      '/rooms/:roomId/polls/:messageId/close',
      {
        schema: {
          tags: ['polls'],
          summary: 'Close a poll (its author or a moderator)',
          params: PollParams,
          response: { 200: envelope(PollSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await polls.close(req.principal, req.params.roomId, req.params.messageId),
      }),
    );
  };
}
