import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id, IsoTime, StringEnum } from '../http/schemas.js';
import { CLIENT_ERROR_LEVELS, CLIENT_ERROR_LIMITS as L } from './client-error-model.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 429: ErrorBody };
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const ReportBody = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: L.message }),
    stack: Type.Optional(Type.String({ maxLength: L.stack })),
    context: Type.Optional(
      Type.Record(Type.String({ maxLength: 128 }), Type.Unknown(), {
        maxProperties: L.contextKeys,
        description: `At most ${L.contextKeys} keys and ${L.contextBytes} bytes as JSON; secrets are redacted`,
      }),
    ),
    clientVersion: Type.Optional(Type.String({ maxLength: L.clientVersion })),
    url: Type.Optional(Type.String({ maxLength: L.url })),
    level: Type.Optional(StringEnum(CLIENT_ERROR_LEVELS)),
  },
  { additionalProperties: false },
);

const ClientErrorSchema = Type.Object(
  {
    errorId: Type.String(),
    userId: Type.String(),
    level: StringEnum(CLIENT_ERROR_LEVELS),
    message: Type.String(),
    stack: Nullable(Type.String()),
    context: Nullable(Type.Record(Type.String(), Type.Unknown())),
    clientVersion: Nullable(Type.String()),
    url: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    source: StringEnum(['http', 'websocket'] as const),
    createdAt: IsoTime,
  },
  { title: 'ClientError' },
);

/** Registered under `/v1`: reporting for everyone, the listing under `/admin`. */
export function clientErrorsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { clientErrors } = deps;

    app.post(
      '/client-errors',
      {
        schema: {
          tags: ['client-errors'],
          summary: 'Report an error that happened in your client. Rate-limited.',
          body: ReportBody,
          response: {
            201: envelope(Type.Object({ errorId: Type.String(), createdAt: IsoTime })),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const data = await clientErrors.report(req.principal, req.body, {
          source: 'http',
          userAgent: req.headers['user-agent'] ?? null,
        });
        return reply.status(201).send({ success: true, data });
      },
    );

    app.get(
      '/admin/client-errors',
      {
        schema: {
          tags: ['client-errors'],
          summary: 'Client error reports, newest first (server admins)',
          querystring: Type.Object({
            userId: Type.Optional(Id),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
            before: Type.Optional(
              Type.String({ pattern: '^cer_[a-z0-9]{1,40}$', description: 'An errorId' }),
            ),
          }),
          response: {
            200: envelope(
              Type.Object({
                errors: Type.Array(ClientErrorSchema),
                pagination: Type.Object({
                  hasMore: Type.Boolean(),
                  limit: Type.Integer(),
                  before: Type.Union([Type.String(), Type.Null()], {
                    description: 'Pass as `before` for the next (older) page',
                  }),
                }),
              }),
            ),
            ...errors,
          },
        },
      },
      async (req) => ({ success: true as const, data: await clientErrors.list(req.principal, req.query) }),
    );
  };
}
