import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id, UserSchema } from '../http/schemas.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody };

export function usersRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/me',
      {
        schema: {
          tags: ['users'],
          summary: 'The calling user',
          response: { 200: envelope(UserSchema), ...errors },
        },
      },
      async (req) => ({ success: true as const, data: await deps.users.get(req.principal.userId) }),
    );

    app.patch(
      '/me',
      {
        schema: {
          tags: ['users'],
          summary: 'Update your display name or avatar',
          body: Type.Object(
            {
              displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
              avatar: Type.Optional(
                Type.Union([Type.String({ format: 'uri', maxLength: 2048 }), Type.Null()]),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: envelope(UserSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await deps.users.updateProfile(req.principal.userId, req.body),
      }),
    );

    app.get(
      '/',
      {
        schema: {
          tags: ['users'],
          summary: 'Find users by username or display-name prefix',
          querystring: Type.Object({
            q: Type.String({ minLength: 1, maxLength: 64 }),
            limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
            offset: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
          }),
          response: { 200: envelope(Type.Object({ users: Type.Array(UserSchema) })), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: { users: await deps.users.search(req.query.q, req.query.limit, req.query.offset) },
      }),
    );

    app.get(
      '/:userId',
      {
        schema: {
          tags: ['users'],
          summary: 'A user profile',
          params: Type.Object({ userId: Id }),
          response: { 200: envelope(UserSchema), ...errors },
        },
      },
      async (req) => ({ success: true as const, data: await deps.users.get(req.params.userId) }),
    );
  };
}
