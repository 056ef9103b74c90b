import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope } from '../http/schemas.js';
import type { Transport } from '../realtime/transport.js';
import { streamCursors } from './sse.routes.js';

/** Frames that describe the connection itself, not events for the client. */
const CONNECTION_FRAMES = new Set(['ready', 'resumed']);

/**
 * Long-poll: answers at once with every event after `cursor`, or waits up to `timeout` seconds for
 * the first one. The answer's `cursor` is the next request's. Without a cursor it answers at once
 * with your current position. Stateless: each request may go to any node.
 */
export function longPollRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    // Waiting polls are answered on shutdown; the server waits for every response before it closes.
    const waiting = new Set<() => void>();
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
      for (const answer of waiting) answer();
    });
    app.get(
      '/poll',
      {
        schema: {
          tags: ['realtime'],
          summary: 'Long-poll for events after a cursor',
          querystring: Type.Object({
            cursor: Type.Optional(Type.String({ maxLength: 1_000_000 })),
            timeout: Type.Integer({ minimum: 0, maximum: 60, default: 25, description: 'Seconds to wait' }),
          }),
          response: {
            200: envelope(
              Type.Object({
                events: Type.Array(Type.Record(Type.String(), Type.Unknown())),
                cursor: Type.String({ description: 'Pass as `cursor` on the next poll' }),
              }),
            ),
            400: ErrorBody,
            401: ErrorBody,
          },
        },
      },
      async (req) => {
        const given = streamCursors(req.query.cursor);
        const frames: Record<string, unknown>[] = [];
        let wake: (() => void) | undefined;
        let opening = true;
        const transport: Transport = {
          send(data) {
            const frame = JSON.parse(data) as Record<string, unknown>;
            if (CONNECTION_FRAMES.has(frame.type as string)) return;
            // The poll's own arrival announces the user to their own connections, this one included:
            // not news, and it would answer every poll at once instead of waiting.
            if (opening && frame.type === 'presence_update' && frame.userId === req.principal.userId) return;
            frames.push(frame);
            wake?.();
          },
          close: () => wake?.(),
          bufferedAmount: () => 0,
        };
        // Without a cursor: start at the current heads and answer straight away with that position.
        const conn = await deps.realtime.open(req.principal, transport, { cursors: given });
        opening = false;
        try {
          if (given !== undefined && frames.length === 0 && req.query.timeout > 0 && !closing) {
            let answer = () => {};
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, req.query.timeout * 1000);
              answer = () => {
                clearTimeout(timer);
                resolve();
              };
              waiting.add(answer);
              wake = () => {
                clearTimeout(timer);
                // Let events committed together arrive in the same answer.
                setTimeout(resolve, 10);
              };
              req.raw.on('close', answer);
            });
            waiting.delete(answer);
          }
          return { success: true as const, data: { events: frames, cursor: conn.session.syncToken() } };
        } finally {
          conn.onClose();
        }
      },
    );
  };
}
