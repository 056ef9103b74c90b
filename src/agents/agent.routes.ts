import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody, envelope, Id, IsoTime, Nullable, StringEnum } from '../http/schemas.js';
import type { AgentService } from './agent.service.js';
import { AGENT_JOB_KINDS, AGENT_JOB_STATES, MAX_INSTRUCTION_LENGTH } from './agent-model.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
};

const Key = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });

export const AgentResultSchema = Type.Object(
  {
    jobId: Type.String(),
    kind: StringEnum(AGENT_JOB_KINDS),
    commandId: Type.String(),
    sessionId: Type.String(),
    success: Type.Boolean(),
    summary: Type.String(),
    siteUrl: Type.Optional(Type.String()),
    s3Bucket: Type.Optional(Type.String()),
    s3Url: Type.Optional(Type.String()),
    deploymentTime: Type.Optional(Type.Integer({ description: 'Epoch ms of the publication' })),
    branch: Type.Optional(Type.String()),
    commitId: Type.Optional(Type.String()),
    filesChanged: Type.Optional(Type.Array(Type.String())),
    attachmentIds: Type.Optional(Type.Array(Type.String())),
    error: Type.Optional(Type.String()),
    interrupted: Type.Optional(Type.Boolean()),
    outputTruncated: Type.Optional(Type.Boolean()),
  },
  { title: 'AgentResult' },
);

export const AgentJobSchema = Type.Object(
  {
    jobId: Type.String(),
    roomId: Type.String(),
    threadId: Type.String({ description: 'Message id of the thread root; the result replies to it' }),
    projectId: Type.String(),
    userId: Type.String(),
    sessionId: Type.String(),
    commandId: Type.String(),
    kind: StringEnum(AGENT_JOB_KINDS),
    instruction: Type.String(),
    repoUrl: Nullable(Type.String()),
    previousCommit: Nullable(Type.String()),
    branch: Type.String(),
    state: StringEnum(AGENT_JOB_STATES),
    attempt: Type.Integer(),
    result: Nullable(AgentResultSchema),
    resultMessageId: Nullable(Type.String()),
    createdAt: IsoTime,
    startedAt: Nullable(IsoTime),
    finishedAt: Nullable(IsoTime),
  },
  { title: 'AgentJob' },
);

const CreateBody = Type.Object(
  {
    roomId: Id,
    instruction: Type.String({ minLength: 1, maxLength: MAX_INSTRUCTION_LENGTH }),
    kind: Type.Optional(StringEnum(AGENT_JOB_KINDS)),
    projectId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' })),
    repoUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    threadId: Type.Optional(Id),
    sessionId: Type.Optional(Key),
    commandId: Type.Optional(Key),
    previousCommit: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{7,64}$' })),
  },
  { additionalProperties: false },
);

const JobParams = Type.Object({ jobId: Id });
const ListQuery = Type.Object({
  roomId: Id,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

/** `/v1/agent/jobs`: start, read, list and cancel agent jobs (members of the job's room only). */
export function agentRoutes(agents: AgentService) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/agent/jobs',
      {
        schema: {
          tags: ['agent'],
          summary: 'Start an agent job in a room (a repeated commandId returns the first job, 200)',
          body: CreateBody,
          response: {
            200: envelope(Type.Object({ job: AgentJobSchema, duplicate: Type.Boolean() })),
            201: envelope(Type.Object({ job: AgentJobSchema, duplicate: Type.Boolean() })),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const data = await agents.create(req.principal, req.body);
        return reply.status(data.duplicate ? 200 : 201).send({ success: true as const, data });
      },
    );

    app.get(
      '/agent/jobs',
      {
        schema: {
          tags: ['agent'],
          summary: "A room's agent jobs, newest first",
          querystring: ListQuery,
          response: { 200: envelope(Type.Object({ jobs: Type.Array(AgentJobSchema) })), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: { jobs: await agents.list(req.principal, req.query.roomId, req.query.limit ?? 50) },
      }),
    );

    app.get(
      '/agent/jobs/:jobId',
      {
        schema: {
          tags: ['agent'],
          summary: 'An agent job with its state and result',
          params: JobParams,
          response: { 200: envelope(AgentJobSchema), ...errors },
        },
      },
      async (req) => ({ success: true as const, data: await agents.get(req.principal, req.params.jobId) }),
    );

    app.post(
      '/agent/jobs/:jobId/cancel',
      {
        schema: {
          tags: ['agent'],
          summary: 'Stop a job (its requester or a room moderator); it answers interrupted: true',
          params: JobParams,
          response: { 200: envelope(AgentJobSchema), ...errors },
        },
      },
      async (req) => ({ success: true as const, data: await agents.cancel(req.principal, req.params.jobId) }),
    );
  };
}
