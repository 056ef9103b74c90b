import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../http/http-deps.js';
import { ErrorBody, envelope, Id } from '../http/schemas.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const Ok = envelope(Type.Object({ ok: Type.Literal(true) }));
const JoinRequestSchema = Type.Object({
  userId: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  avatar: Type.Union([Type.String(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

/** Join requests of rooms with settings.requireApproval; the request itself is POST /rooms/:roomId/join. */
export function joinRequestsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { joinRequests } = deps;

    app.get(
      '/rooms/:roomId/join-requests',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Pending join requests, oldest first (room admins)',
          params: Type.Object({ roomId: Id }),
          response: { 200: envelope(Type.Array(JoinRequestSchema)), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await joinRequests.list(req.principal, req.params.roomId),
      }),
    );

    app.post(
      '/rooms/:roomId/join-requests/:userId/approve',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Approve a join request: the requester becomes a member (room admins)',
          params: Type.Object({ roomId: Id, userId: Id }),
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        await joinRequests.approve(req.principal, req.params.roomId, req.params.userId);
        return { success: true as const, data: { ok: true as const } };
      },
    );

    app.post(
      '/rooms/:roomId/join-requests/:userId/reject',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Reject a join request (room admins)',
          params: Type.Object({ roomId: Id, userId: Id }),
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        await joinRequests.reject(req.principal, req.params.roomId, req.params.userId);
        return { success: true as const, data: { ok: true as const } };
      },
    );

    app.delete(
      '/rooms/:roomId/join-requests/me',
      {
        schema: {
          tags: ['rooms'],
          summary: 'Withdraw your own pending join request',
          params: Type.Object({ roomId: Id }),
          response: { 200: Ok, ...errors },
        },
      },
      async (req) => {
        await joinRequests.cancel(req.principal, req.params.roomId);
        return { success: true as const, data: { ok: true as const } };
      },
    );
  };
}
