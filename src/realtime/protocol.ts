import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CLIENT_ERROR_LEVELS, CLIENT_ERROR_LIMITS } from '../client-errors/client-error-model.js';
import { USER_MESSAGE_TYPES } from '../messages/message-model.js';

/**
 * The WebSocket protocol, version 1: JSON frames `{type, id?, ...}`. Client frames are a
 * discriminated union on `type`, validated by a compiled schema before any handler runs.
 * Every client frame may carry an `id`; the server's `ack` or `error` for it echoes that id.
 */
export const PROTOCOL_VERSION = 1;

const Id = Type.String({ minLength: 1, maxLength: 64 });
const FrameId = Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Integer()]));
const Seq = Type.Integer({ minimum: 0 });
const STATUS = ['online', 'away', 'busy', 'offline'] as const;

/** An enum the compiled validator understands (Type.Unsafe is opaque to TypeCompiler). */
const OneOf = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as ReturnType<typeof Type.Unsafe<T[number]>>;

const frame = <T extends string, P extends Parameters<typeof Type.Object>[0]>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), id: FrameId, ...props }, { additionalProperties: false });

export const ClientFrameSchema = Type.Union([
  frame('auth', { token: Type.String({ minLength: 1, maxLength: 8192 }) }),
  frame('ping', {}),
  frame('resume', {
    /** roomId -> last seq the client has; rooms left out resume from the server's current head. */
    cursors: Type.Optional(Type.Record(Id, Seq, { maxProperties: 10_000 })),
    /** Opaque sync token from a previous `resumed`/`sync` frame, instead of cursors. */
    syncToken: Type.Optional(Type.String({ maxLength: 1_000_000 })),
  }),
  frame('join_room', { roomId: Id }),
  frame('leave_room', { roomId: Id }),
  frame('send_message', {
    roomId: Type.Optional(Id),
    /** Direct message: the recipient's user id instead of a roomId. */
    toUserId: Type.Optional(Id),
    /** Not blank, unless the message carries attachments. */
    content: Type.String(),
    messageType: Type.Optional(OneOf(USER_MESSAGE_TYPES)),
    clientMsgId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    replyTo: Type.Optional(Type.Union([Id, Type.Null()])),
    isAnonymous: Type.Optional(Type.Boolean()),
    anonymousName: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    /** Ids of completed uploads (see `upload_request`); content may then be empty. */
    attachments: Type.Optional(Type.Array(Id, { maxItems: 10 })),
  }),
  frame('edit_message', { roomId: Id, messageId: Id, content: Type.String({ minLength: 1 }) }),
  frame('delete_message', { roomId: Id, messageId: Id }),
  frame('message_reaction', {
    roomId: Id,
    messageId: Id,
    emoji: Type.String({ minLength: 1, maxLength: 32 }),
    action: Type.Optional(Type.Union([Type.Literal('add'), Type.Literal('remove')])),
  }),
  frame('pin_message', { roomId: Id, messageId: Id, pinned: Type.Optional(Type.Boolean()) }),
  /** Vote, change or retract (empty optionIds) in a poll; same rules as PUT .../polls/:messageId/votes. */
  frame('poll_vote', {
    roomId: Id,
    messageId: Id,
    optionIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 10 }),
  }),
  /** Declares an upload (seed name: `image_upload`); the ack carries the signed URL to PUT the bytes to. */
  ...(['upload_request', 'image_upload'] as const).map((type) =>
    frame(type, {
      roomId: Id,
      fileName: Type.String({ minLength: 1, maxLength: 255 }),
      mimeType: Type.String({ minLength: 3, maxLength: 255 }),
      size: Type.Integer({ minimum: 0 }),
    }),
  ),
  /** After the PUT to an S3 URL: check and finish the upload (local uploads finish by themselves). */
  frame('upload_complete', { roomId: Id, attachmentId: Id }),
  /** A short-lived signed URL for an attachment or its thumbnail (seed name: `image_download_request`). */
  ...(['download_request', 'image_download_request'] as const).map((type) =>
    frame(type, {
      attachmentId: Id,
      variant: Type.Optional(OneOf(['original', 'thumbnail'] as const)),
    }),
  ),
  frame('typing_start', { roomId: Id }),
  frame('typing_stop', { roomId: Id }),
  frame('mark_read', { roomId: Id, seq: Seq }),
  /** The client has received the room up to `seq` (drives `delivered` receipts). */
  frame('mark_delivered', { roomId: Id, seq: Seq }),
  frame('set_presence', {
    status: OneOf(STATUS),
    customStatus: Type.Optional(Type.Union([Type.String({ maxLength: 140 }), Type.Null()])),
  }),
  /**
   * Agent jobs (seed names): a report to generate, or a change to an existing report in its thread.
   * The same fields and rules as `POST /v1/agent/jobs` (kind `report`); the ack carries the job.
   */
  ...(['report_request', 'report_modification'] as const).map((type) =>
    frame(type, {
      roomId: Id,
      instruction: Type.String({ minLength: 1, maxLength: 10_000 }),
      projectId: Type.Optional(
        Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' }),
      ),
      repoUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
      /** A message of the room: the job works in its thread. Required for `report_modification`. */
      threadId: type === 'report_modification' ? Id : Type.Optional(Id),
      sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' })),
      commandId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' })),
      previousCommit: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{7,64}$' })),
    }),
  ),
  /** An error report from the client; the same fields and limits as `POST /v1/client-errors`. */
  frame('error_log', {
    message: Type.String({ minLength: 1, maxLength: CLIENT_ERROR_LIMITS.message }),
    stack: Type.Optional(Type.String({ maxLength: CLIENT_ERROR_LIMITS.stack })),
    context: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { maxProperties: CLIENT_ERROR_LIMITS.contextKeys }),
    ),
    clientVersion: Type.Optional(Type.String({ maxLength: CLIENT_ERROR_LIMITS.clientVersion })),
    url: Type.Optional(Type.String({ maxLength: CLIENT_ERROR_LIMITS.url })),
    level: Type.Optional(OneOf(CLIENT_ERROR_LEVELS)),
  }),
]);

export type ClientFrame = Static<typeof ClientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>;

export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = ClientFrameSchema.anyOf.map(
  (s) => s.properties.type.const as ClientFrameType,
);

const compiledFrames = new Map(
  ClientFrameSchema.anyOf.map((s) => [s.properties.type.const as string, TypeCompiler.Compile(s)]),
);

export type ParseResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: string; message: string; id?: string | number };

/** Parses and validates one client frame; errors name the frame type and the bad field. */
export function parseClientFrame(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'MALFORMED_JSON', message: 'Frame is not valid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'VALIDATION_FAILED', message: 'Frame must be a JSON object' };
  }
  const obj = raw as Record<string, unknown>;
  const id = typeof obj.id === 'string' || typeof obj.id === 'number' ? obj.id : undefined;
  const type = obj.type;
  const check = typeof type === 'string' ? compiledFrames.get(type) : undefined;
  if (!check) {
    return {
      ok: false,
      code: 'UNKNOWN_FRAME_TYPE',
      message: `Unknown frame type ${JSON.stringify(type)}`,
      id,
    };
  }
  const first = check.Errors(raw).First();
  if (first) {
    const path = first.path || '/';
    return { ok: false, code: 'VALIDATION_FAILED', message: `${type}: ${path} ${first.message}`, id };
  }
  return { ok: true, frame: raw as ClientFrame };
}

/** Named WebSocket close codes (4000-4999 are for applications). */
export const CloseCodes = {
  normal: { code: 1000, reason: 'bye' },
  goingAway: { code: 1001, reason: 'server shutting down' },
  tooBig: { code: 1009, reason: 'frame too large' },
  unauthorized: { code: 4401, reason: 'unauthorized' },
  forbiddenOrigin: { code: 4403, reason: 'origin not allowed' },
  authTimeout: { code: 4408, reason: 'no auth frame in time' },
  idleTimeout: { code: 4000, reason: 'idle timeout' },
  slowConsumer: { code: 4008, reason: 'slow consumer: resume from your cursors' },
  rateLimited: { code: 4029, reason: 'too many frames' },
} as const;
