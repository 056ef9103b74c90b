import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, MessageSchema } from '../http/schemas.js';
import { SearchService } from './search.service.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.String({ format: 'date' })], {
  description: 'ISO 8601 date-time, or a date (UTC); inclusive',
});

const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

const SearchQuery = Type.Object({
  q: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'Words (all must match), "quoted phrases", has:attachment, from:<username>, in:<roomId>',
  }),
  roomId: Type.Optional(Id),
  authorId: Type.Optional(Id),
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  hasAttachment: Type.Optional(Type.Boolean()),
  limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
});

const SearchResponse = envelope(
  Type.Object({
    results: Type.Array(
      Type.Object({
        message: MessageSchema,
        highlight: Type.String({
          description:
            'HTML-escaped excerpt of the message; matches are wrapped in « and », which appear nowhere else unescaped',
        }),
        rank: Type.Number({ description: 'Relevance, higher is better; comparable within one response' }),
      }),
    ),
    pagination: Type.Object({ limit: Type.Integer(), offset: Type.Integer(), hasMore: Type.Boolean() }),
  }),
);

export function searchRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const search = new SearchService(deps.store);

    app.get(
      '/search',
      {
        schema: {
          tags: ['search'],
          summary: 'Search messages in every room you can read, best match first',
          querystring: SearchQuery,
          response: { 200: SearchResponse, ...errors },
        },
      },
      async (req) => ({ success: true as const, data: await search.search(req.principal, req.query) }),
    );
  };
}
