import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors/errors.js';
import type { HttpDeps } from './http-deps.js';

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

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

    app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (req, reply) => {
      const token = deps.config.metricsToken;
      if (token !== undefined && !safeEqual(req.headers.authorization ?? '', `Bearer ${token}`)) {
        throw Errors.unauthenticated('/metrics needs Authorization: Bearer <METRICS_TOKEN>');
      }
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  };
}
