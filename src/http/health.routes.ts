import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './http-deps.js';

export function healthRoutes(deps: HttpDeps) {
  return async (app: FastifyInstance) => {
    app.get('/health', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));

    app.get('/ready', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
      try {
        await deps.store.ping();
        return { status: 'ready', store: deps.store.dialect };
      } catch {
        return reply.status(503).send({ status: 'unavailable', store: deps.store.dialect });
      }
    });

    app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  };
}
