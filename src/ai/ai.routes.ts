import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id, IsoTime, Nullable } from '../http/schemas.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  429: ErrorBody,
  502: ErrorBody,
  503: ErrorBody,
};

const AskResultSchema = Type.Object(
  {
    response: Type.String(),
    responseTime: Type.Integer({ description: 'Milliseconds, all provider attempts included' }),
    provider: Type.String(),
    model: Type.String(),
    tokens: Type.Object({ input: Type.Integer(), output: Type.Integer(), total: Type.Integer() }),
    fallbacks: Type.Array(Type.Object({ provider: Type.String(), code: Type.String() }), {
      description: 'Providers that failed before the one that answered',
    }),
    timestamp: IsoTime,
  },
  { title: 'AiAnswer' },
);

const UsageTotalsSchema = Type.Object({
  provider: Type.String(),
  model: Type.String(),
  requests: Type.Integer(),
  failures: Type.Integer(),
  cancelled: Type.Integer(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  avgLatencyMs: Type.Integer(),
});

const UsageReportSchema = Type.Object(
  {
    since: IsoTime,
    totals: Type.Object({
      requests: Type.Integer(),
      failures: Type.Integer(),
      cancelled: Type.Integer(),
      inputTokens: Type.Integer(),
      outputTokens: Type.Integer(),
    }),
    byProvider: Type.Array(UsageTotalsSchema),
    recent: Type.Array(
      Type.Object({
        id: Type.String(),
        kind: Type.String(),
        provider: Type.String(),
        model: Type.String(),
        status: Type.String(),
        errorCode: Nullable(Type.String()),
        inputTokens: Type.Integer(),
        outputTokens: Type.Integer(),
        latencyMs: Type.Integer(),
        roomId: Nullable(Type.String()),
        userId: Nullable(Type.String()),
        jobId: Nullable(Type.String()),
        createdAt: IsoTime,
      }),
    ),
  },
  { title: 'AiUsageReport' },
);

/** Registered under `/v1`. */
export function aiRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { ai } = deps;

    app.get(
      '/chat/ai',
      {
        schema: {
          tags: ['ai'],
          summary: 'The AI assistant: whether a provider is configured, and its bot user',
          response: {
            200: envelope(
              Type.Object({
                enabled: Type.Boolean(),
                providers: Type.Array(Type.String(), { description: 'Fallback order' }),
                bot: Type.Object({
                  userId: Type.String(),
                  username: Type.String(),
                  displayName: Type.String(),
                }),
                mentions: Type.Array(Type.String()),
              }),
            ),
            ...errors,
          },
        },
      },
      async () => ({ success: true as const, data: ai.status() }),
    );

    app.post(
      '/chat/ai/ask',
      {
        schema: {
          tags: ['ai'],
          summary: 'Ask the assistant and wait for the answer (not posted to any room)',
          body: Type.Object(
            {
              question: Type.String({ minLength: 1, maxLength: 10_000, pattern: '\\S' }),
              context: Type.Optional(
                Type.String({ maxLength: 50_000, description: 'Extra context sent with the question' }),
              ),
              roomId: Type.Optional(Id),
            },
            { additionalProperties: false },
          ),
          response: { 200: envelope(AskResultSchema), ...errors },
        },
      },
      async (req, reply) => {
        // A client that hangs up cancels the provider request.
        const abort = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) abort.abort();
        };
        reply.raw.on('close', onClose);
        try {
          return { success: true as const, data: await ai.ask(req.principal, req.body, abort.signal) };
        } finally {
          reply.raw.off('close', onClose);
        }
      },
    );

    app.get(
      '/admin/ai/usage',
      {
        schema: {
          tags: ['ai'],
          summary: 'AI usage (server admins): totals per provider and model, and the latest calls',
          querystring: Type.Object({
            since: Type.Optional(IsoTime),
            limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          }),
          response: { 200: envelope(UsageReportSchema), ...errors },
        },
      },
      async (req) => {
        const since = req.query.since ? Date.parse(req.query.since) : 0;
        return {
          success: true as const,
          data: await ai.usageReport(req.principal, Number.isNaN(since) ? 0 : since, req.query.limit),
        };
      },
    );
  };
}
