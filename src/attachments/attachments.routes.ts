import type { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Errors } from '../errors/errors.js';
import type { HttpDeps } from '../http/http-deps.js';
import { AttachmentSchema, ErrorBody, envelope, Id, IsoTime, Nullable, StringEnum } from '../http/schemas.js';
import type { OpenedFile, Variant } from './attachments.service.js';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  411: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  429: ErrorBody,
};

export const AttachmentViewSchema = Type.Composite(
  [
    AttachmentSchema,
    Type.Object({
      roomId: Type.String(),
      status: StringEnum(['pending', 'ready'] as const),
      messageId: Nullable(Type.String()),
      width: Nullable(Type.Integer()),
      height: Nullable(Type.Integer()),
      createdAt: IsoTime,
    }),
  ],
  { title: 'AttachmentView' },
);

const UploadSchema = Type.Object({
  url: Type.String({ description: 'Absolute (S3) or relative to this server (local storage)' }),
  method: Type.Literal('PUT'),
  headers: Type.Record(Type.String(), Type.String(), { description: 'Send these verbatim' }),
  expiresAt: IsoTime,
});

const DeclareBody = Type.Object(
  {
    fileName: Type.String({ minLength: 1, maxLength: 255 }),
    mimeType: Type.String({ minLength: 3, maxLength: 255 }),
    size: Type.Integer({ minimum: 0, description: 'Bytes; the upload must be exactly this long' }),
  },
  { additionalProperties: false },
);

const RoomParams = Type.Object({ roomId: Id });
const RoomAttachmentParams = Type.Object({ roomId: Id, attachmentId: Id });
const AttachmentParams = Type.Object({ attachmentId: Id });
const SignedQuery = Type.Object({ exp: Type.Integer(), sig: Type.String({ maxLength: 128 }) });
const Signed = Type.Object({ url: Type.String(), expiresAt: IsoTime });

/** Authenticated attachment routes: declare, complete, delete, and stable download links. */
export function attachmentsRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { attachments } = deps;

    app.post(
      '/chat/rooms/:roomId/attachments',
      {
        schema: {
          tags: ['attachments'],
          summary: 'Declare an upload; answers where to PUT the bytes (a signed URL), then call complete',
          params: RoomParams,
          body: DeclareBody,
          response: {
            201: envelope(Type.Object({ attachment: AttachmentViewSchema, upload: UploadSchema })),
            ...errors,
          },
        },
      },
      async (req, reply) =>
        reply.status(201).send({
          success: true,
          data: await attachments.requestUpload(req.principal, req.params.roomId, req.body),
        }),
    );

    app.post(
      '/chat/rooms/:roomId/attachments/:attachmentId/complete',
      {
        schema: {
          tags: ['attachments'],
          summary: 'Check the uploaded bytes, make the thumbnail, mark the attachment ready (idempotent)',
          params: RoomAttachmentParams,
          response: { 200: envelope(AttachmentViewSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await attachments.complete(req.principal, req.params.roomId, req.params.attachmentId),
      }),
    );

    app.delete(
      '/chat/rooms/:roomId/attachments/:attachmentId',
      {
        schema: {
          tags: ['attachments'],
          summary: 'Delete your upload that no message uses (delete the message to remove a sent file)',
          params: RoomAttachmentParams,
          response: { 200: envelope(Type.Object({ deleted: Type.Boolean() })), ...errors },
        },
      },
      async (req) => {
        await attachments.remove(req.principal, req.params.roomId, req.params.attachmentId);
        return { success: true as const, data: { deleted: true } };
      },
    );

    app.get(
      '/attachments/:attachmentId/info',
      {
        schema: {
          tags: ['attachments'],
          summary: "An attachment's metadata",
          params: AttachmentParams,
          response: { 200: envelope(AttachmentViewSchema), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await attachments.get(req.principal, req.params.attachmentId),
      }),
    );

    app.get(
      '/attachments/:attachmentId/url',
      {
        schema: {
          tags: ['attachments'],
          summary: 'A short-lived signed URL for the file or its thumbnail (for <img src> and downloads)',
          params: AttachmentParams,
          querystring: Type.Object({
            variant: Type.Optional(StringEnum(['original', 'thumbnail'] as const)),
          }),
          response: { 200: envelope(Signed), ...errors },
        },
      },
      async (req) => ({
        success: true as const,
        data: await attachments.downloadUrl(
          req.principal,
          req.params.attachmentId,
          (req.query.variant ?? 'original') as Variant,
        ),
      }),
    );

    // The stable URLs messages carry: redirect to a fresh signed URL.
    for (const variant of ['original', 'thumbnail'] as const) {
      app.get(
        variant === 'original' ? '/attachments/:attachmentId' : '/attachments/:attachmentId/thumbnail',
        {
          schema: {
            tags: ['attachments'],
            summary: `Redirect (302) to a signed URL for the ${variant === 'original' ? 'file' : 'thumbnail'}`,
            params: AttachmentParams,
            response: { ...errors },
          },
        },
        async (req, reply) => {
          const { url } = await attachments.downloadUrl(req.principal, req.params.attachmentId, variant);
          return reply.header('cache-control', 'no-store').redirect(url, 302);
        },
      );
    }
  };
}

/**
 * Routes that take raw bytes (their own content-type parser, so any type streams through
 * unparsed) and the token-less signed file URLs of the local backend.
 */
export function fileTransferRoutes(deps: HttpDeps) {
  return async (root: FastifyInstance) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const { attachments } = deps;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    app.post(
      '/chat/rooms/:roomId/attachments/content',
      {
        // The body is a stream checked against Content-Length, not a buffered JSON body.
        bodyLimit: Number.MAX_SAFE_INTEGER,
        schema: {
          tags: ['attachments'],
          summary:
            'Direct upload: the file is the request body (Content-Type and Content-Length required); answers the ready attachment',
          params: RoomParams,
          querystring: Type.Object({ fileName: Type.String({ minLength: 1, maxLength: 255 }) }),
          response: { 201: envelope(AttachmentViewSchema), ...errors },
        },
      },
      async (req, reply) => {
        const size = contentLength(req.headers['content-length']);
        const view = await attachments.uploadDirect(
          req.principal,
          req.params.roomId,
          { fileName: req.query.fileName, mimeType: req.headers['content-type'] ?? '', size },
          bodyOf(req.body),
        );
        return reply.status(201).send({ success: true, data: view });
      },
    );

    app.put(
      '/files/:attachmentId/original',
      {
        bodyLimit: Number.MAX_SAFE_INTEGER,
        config: { public: true },
        schema: {
          tags: ['attachments'],
          summary: 'Upload target of a signed URL from POST .../attachments (local storage); no token needed',
          security: [],
          params: AttachmentParams,
          querystring: SignedQuery,
          response: { 200: envelope(AttachmentViewSchema), ...errors },
        },
      },
      async (req) => {
        contentLength(req.headers['content-length']);
        const view = await attachments.receiveSignedUpload(
          req.params.attachmentId,
          req.query.exp,
          req.query.sig,
          req.headers['content-type'],
          bodyOf(req.body),
        );
        return { success: true as const, data: view };
      },
    );

    app.get(
      '/files/:attachmentId/:variant',
      {
        config: { public: true },
        schema: {
          tags: ['attachments'],
          summary: 'A file behind a signed URL (local storage); no token needed',
          security: [],
          params: Type.Object({ attachmentId: Id, variant: Type.String({ maxLength: 16 }) }),
          querystring: SignedQuery,
        },
      },
      async (req, reply) => {
        const file = await attachments.openSigned(
          req.params.attachmentId,
          req.params.variant,
          req.query.exp,
          req.query.sig,
        );
        return sendFile(reply, file);
      },
    );
  };
}

function contentLength(raw: string | undefined): number {
  if (raw === undefined) throw Errors.lengthRequired();
  if (!/^\d{1,15}$/.test(raw)) throw Errors.validation('Content-Length must be a byte count');
  return Number(raw);
}

function bodyOf(body: unknown): Readable {
  if (body === undefined || body === null) throw Errors.validation('The request has no body');
  return body as Readable;
}

/**
 * Served so that nothing uploaded can act as a page of this origin: nosniff, a sandboxing CSP, and
 * `attachment` disposition for everything but the raster images browsers render inert.
 */
function sendFile(reply: FastifyReply, file: OpenedFile) {
  const ascii = file.fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return reply
    .header('content-type', file.contentType)
    .header('content-length', String(file.size))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cache-control', 'private, max-age=300')
    .header(
      'content-disposition',
      `${file.inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`,
    )
    .send(file.body);
}
