import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody } from '../http/schemas.js';
import { CloseCodes } from '../realtime/protocol.js';
import type { Connection } from '../realtime/realtime.js';
import { decodeSyncToken, encodeSyncToken } from '../realtime/sync-token.js';
import type { Transport } from '../realtime/transport.js';
import { drained } from './drained.js';
import { originAllowed } from './origin.js';

/** Bearer header, or `?token=` for EventSource, which cannot set headers. */
export async function authenticateStream(deps: HttpDeps, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  const token =
    (header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined) ?? (req.query as { token?: string }).token;
  if (!token) throw Errors.unauthenticated('Send an access token: Authorization header or ?token=');
  return deps.auth.authenticate(token);
}

/** Cursors from `Last-Event-ID` (reconnecting EventSource) or `?cursor=`; undefined means start live. */
export function streamCursors(token: string | undefined): Record<string, number> | undefined {
  if (token === undefined || token === '') return undefined;
  const cursors = decodeSyncToken(token);
  if (!cursors) throw Errors.validation('cursor / Last-Event-ID is not a sync token from this server');
  return cursors;
}

/**
 * Server-Sent Events: the same events as the WebSocket, one `data:` JSON frame each. Log events carry
 * `id: <sync token>` so a reconnecting EventSource resumes exactly where it stopped via Last-Event-ID.
 * Sending stays on REST. Stateless: any node can serve a reconnect.
 */
export function sseRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    // Open streams never finish on their own, and the server waits for every response before it
    // closes: end them on shutdown (clients reconnect, elsewhere, with Last-Event-ID).
    const streams = new Set<Transport>();
    app.addHook('preClose', async () => {
      for (const t of streams) t.close(CloseCodes.goingAway.code, CloseCodes.goingAway.reason);
    });
    app.get(
      '/stream',
      {
        config: { public: true },
        schema: {
          tags: ['realtime'],
          summary: 'Server-Sent Events stream of your rooms (resume with Last-Event-ID or ?cursor=)',
          querystring: Type.Object({
            token: Type.Optional(
              Type.String({ maxLength: 8192, description: 'Access token, for EventSource' }),
            ),
            cursor: Type.Optional(
              Type.String({ maxLength: 1_000_000, description: 'Sync token to resume from' }),
            ),
          }),
          response: { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
        },
      },
      async (req, reply) => {
        if (!originAllowed(req.headers.origin, req.headers.host, deps.config.corsOrigins)) {
          throw Errors.forbidden('Origin not allowed');
        }
        const principal = await authenticateStream(deps, req);
        const lastEventId = req.headers['last-event-id'];
        const cursors = streamCursors(typeof lastEventId === 'string' ? lastEventId : req.query.cursor);
        const res = reply.raw;
        reply.hijack();
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          ...(req.headers.origin && deps.config.corsOrigins.length > 0
            ? { 'access-control-allow-origin': req.headers.origin, vary: 'origin' }
            : {}),
        });
        res.write('retry: 2000\n\n');
        // The client's position, advanced as log events go out, becomes each event's id.
        const position = new Map(Object.entries(cursors ?? {}));
        let conn: Connection | undefined;
        const transport: Transport = {
          send(data, event) {
            if (event) {
              position.set(event.roomId, event.seq);
              res.write(`id: ${encodeSyncToken(position)}\ndata: ${data}\n\n`);
            } else if (data.startsWith('{"type":"resumed"')) {
              // The starting position: from here on Last-Event-ID always names where the client is.
              const start = decodeSyncToken((JSON.parse(data) as { syncToken: string }).syncToken) ?? {};
              for (const [roomId, seq] of Object.entries(start)) position.set(roomId, seq);
              res.write(`id: ${encodeSyncToken(position)}\ndata: ${data}\n\n`);
            } else {
              res.write(`data: ${data}\n\n`);
            }
          },
          close(_code, reason) {
            if (res.writableEnded) return;
            res.write(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`);
            res.end();
          },
          bufferedAmount: () => res.writableLength,
          drained: () => drained(res, () => res.destroyed || res.writableLength === 0),
        };
        const heartbeat = setInterval(() => {
          res.write(': ping\n\n');
          // An open stream is a live connection: keep its presence entry from expiring.
          conn?.heartbeat();
        }, deps.config.wsHeartbeatInterval);
        heartbeat.unref();
        streams.add(transport);
        res.on('close', () => {
          streams.delete(transport);
          clearInterval(heartbeat);
          conn?.onClose();
        });
        conn = await deps.realtime.open(principal, transport, { cursors });
        if (res.destroyed) conn.onClose();
      },
    );
  };
}
