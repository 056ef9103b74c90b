import AjvCompiler from '@fastify/ajv-compiler';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { agentRoutes } from '../agents/agent.routes.js';
import { sitesRoutes } from '../agents/sites.routes.js';
import { aiRoutes } from '../ai/ai.routes.js';
import { announcementsRoutes } from '../announcements/announcements.routes.js';
import { attachmentsRoutes, fileTransferRoutes } from '../attachments/attachments.routes.js';
import { authRoutes } from '../auth/auth.routes.js';
import type { Principal } from '../auth/principal.js';
import { bridgesAdminRoutes } from '../bridges/bridges-admin.routes.js';
import { messageApiRoutes } from '../bridges/message-api.routes.js';
import { platformRoutes } from '../bridges/platform.routes.js';
import { clientErrorsRoutes } from '../client-errors/client-errors.routes.js';
import { Errors } from '../errors/errors.js';
import { messagesRoutes } from '../messages/messages.routes.js';
import { moderationRoutes } from '../moderation/moderation.routes.js';
import { pollsRoutes } from '../polls/polls.routes.js';
import { presenceRoutes } from '../presence/presence.routes.js';
import { enforceRateLimit } from '../ratelimit/enforce.js';
import { receiptsRoutes } from '../receipts/receipts.routes.js';
import { joinRequestsRoutes } from '../rooms/join-requests.routes.js';
import { roomsRoutes } from '../rooms/rooms.routes.js';
import { searchRoutes } from '../search/search.routes.js';
import { longPollRoutes } from '../transport/long-poll.routes.js';
import { sseRoutes } from '../transport/sse.routes.js';
import { usersRoutes } from '../users/users.routes.js';
import { webhooksRoutes } from '../webhooks/webhooks.routes.js';
import { installErrorHandling } from './error-handler.js';
import { healthRoutes } from './health.routes.js';
import type { HttpDeps } from './http-deps.js';
import { webClientRoutes } from './web-client.routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every non-public route. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Route needs no token. */
    public?: boolean;
  }
}

export type App = FastifyInstance;

const ajvCompilers = AjvCompiler();

/**
 * Fastify's Ajv coerces types, which query strings and path params need (`?limit=20` is text). JSON
 * bodies arrive typed, and coercing them would accept and store `{"content": 42}` as "42" or
 * `{"memberIds": "usr_x"}` as a list: bodies get the same Ajv setup without coercion, so a wrong
 * type is a 400.
 */
const strictBodyValidator: AjvCompiler.BuildCompilerFromPool = (externalSchemas, options = {}) => {
  const coercing = ajvCompilers(externalSchemas, options);
  const strict = ajvCompilers(externalSchemas, {
    ...options,
    customOptions: { ...options.customOptions, coerceTypes: false },
  } as typeof options);
  return ((route: { httpPart?: string }) =>
    (route.httpPart === 'body' ? strict : coercing)(route as never)) as unknown as typeof coercing;
};

export const API_VERSION = '1.0.0';

/** Builds the HTTP server: schemas, auth, error envelope, OpenAPI at /docs, and every route. */
export async function buildHttpServer(deps: HttpDeps, logger: FastifyBaseLogger): Promise<App> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.config.maxBodySize,
    trustProxy: deps.config.trustProxy,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    schemaController: { compilersFactory: { buildValidator: strictBodyValidator } },
    // The router treats `/rooms/` and `/rooms` alike.
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  if (deps.config.corsOrigins.length > 0) {
    // Browsers on other origins may call the API with a bearer token; no cookies are used.
    await app.register(cors, {
      origin: deps.config.corsOrigins.includes('*') ? true : deps.config.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'content-length', 'last-event-id'],
      maxAge: 600,
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Switchboard API',
        version: API_VERSION,
        description:
          'REST API of Switchboard. Successful responses are `{success:true, data}`; errors are `{success:false, error:{code,message}}`. Real-time delivery is described in docs/protocol.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // POST /message: an API key from POST /v1/admin/api-keys, as a bearer token or X-API-Key.
          apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'sbk_...' },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config?.public || req.routeOptions.url === undefined) return;
    if (req.routeOptions.url.startsWith('/docs')) return;
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw Errors.unauthenticated('Send an access token: Authorization: Bearer <token>');
    req.principal = await deps.auth.authenticate(match[1]!);
    await enforceRateLimit(deps.apiLimiter, req.principal.userId, 'requests');
  });

  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpDuration
      .labels(req.method, req.routeOptions.url ?? 'unmatched', String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });

  await app.register(healthRoutes(deps));
  await app.register(authRoutes(deps), { prefix: '/v1/auth' });
  await app.register(usersRoutes(deps), { prefix: '/v1/users' });
  await app.register(roomsRoutes(deps), { prefix: '/v1/chat' });
  await app.register(messagesRoutes(deps), { prefix: '/v1/chat' });
  await app.register(pollsRoutes(deps), { prefix: '/v1/chat' });
  await app.register(moderationRoutes(deps), { prefix: '/v1/chat' });
  await app.register(joinRequestsRoutes(deps), { prefix: '/v1/chat' });
  await app.register(receiptsRoutes(deps), { prefix: '/v1/chat' });
  await app.register(searchRoutes(deps), { prefix: '/v1/chat' });
  await app.register(presenceRoutes(deps), { prefix: '/v1/presence' });
  await app.register(sseRoutes(deps), { prefix: '/v1/events' });
  await app.register(longPollRoutes(deps), { prefix: '/v1/events' });
  await app.register(announcementsRoutes(deps), { prefix: '/v1' });
  await app.register(clientErrorsRoutes(deps), { prefix: '/v1' });
  await app.register(attachmentsRoutes(deps), { prefix: '/v1' });
  await app.register(fileTransferRoutes(deps), { prefix: '/v1' });
  await app.register(aiRoutes(deps), { prefix: '/v1' });
  await app.register(agentRoutes(deps.agents), { prefix: '/v1' });
  await app.register(sitesRoutes(deps.sites));
  await app.register(platformRoutes(deps.bridges), { prefix: '/v1/bridges' });
  await app.register(messageApiRoutes(deps.bridges));
  await app.register(bridgesAdminRoutes(deps.bridges), { prefix: '/v1' });
  await app.register(webhooksRoutes(deps.webhooks), { prefix: '/v1' });
  // Last: the web client's catch-all answers only paths no other route claims.
  await app.register(webClientRoutes(deps.config));
  return app;
}

/** Route plugin type shared by the domain route files. */
export type RoutePlugin = (app: FastifyInstance) => Promise<void>;
