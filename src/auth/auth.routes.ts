import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, UserSchema } from '../http/schemas.js';
import { enforceRateLimit } from '../ratelimit/enforce.js';
import { USERNAME_INPUT_PATTERN } from '../users/user-model.js';

const AuthResultSchema = Type.Object({
  user: UserSchema,
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Access token lifetime in seconds' }),
});

const Password = Type.String({ minLength: 8, maxLength: 256 });
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 429: ErrorBody };

export function authRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const limit = (ip: string) => enforceRateLimit(deps.authLimiter, `auth:${ip}`, 'login attempts');

    app.post(
      '/register',
      {
        config: { public: true },
        schema: {
          tags: ['auth'],
          summary: 'Create an account and log in',
          security: [],
          body: Type.Object(
            {
              username: Type.String({
                pattern: USERNAME_INPUT_PATTERN,
                description: '3-32 of a-z 0-9 _ . - (case-insensitive; stored lower-case)',
              }),
              password: Password,
              displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: envelope(AuthResultSchema), ...errors },
        },
      },
      async (req, reply) => {
        await limit(req.ip);
        const data = await deps.auth.register(req.body);
        return reply.status(201).send({ success: true, data });
      },
    );

    app.post(
      '/login',
      {
        config: { public: true },
        schema: {
          tags: ['auth'],
          summary: 'Exchange username and password for tokens',
          security: [],
          body: Type.Object(
            {
              username: Type.String({ minLength: 1, maxLength: 64 }),
              password: Type.String({ minLength: 1, maxLength: 256 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: envelope(AuthResultSchema), ...errors },
        },
      },
      async (req) => {
        await limit(req.ip);
        return { success: true as const, data: await deps.auth.login(req.body.username, req.body.password) };
      },
    );

    app.post(
      '/refresh',
      {
        config: { public: true },
        schema: {
          tags: ['auth'],
          summary: 'Rotate a refresh token for a new token pair',
          security: [],
          body: Type.Object(
            { refreshToken: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 200: envelope(AuthResultSchema), ...errors },
        },
      },
      async (req) => {
        await limit(req.ip);
        return { success: true as const, data: await deps.auth.refresh(req.body.refreshToken) };
      },
    );

    app.post(
      '/logout',
      {
        config: { public: true },
        schema: {
          tags: ['auth'],
          summary: 'Revoke a refresh token (and every token rotated from the same login)',
          security: [],
          body: Type.Object(
            { refreshToken: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 200: envelope(Type.Object({ loggedOut: Type.Boolean() })), ...errors },
        },
      },
      async (req) => {
        await deps.auth.logout(req.body.refreshToken);
        return { success: true as const, data: { loggedOut: true } };
      },
    );
  };
}
