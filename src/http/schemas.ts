import { type TSchema, Type } from '@sinclair/typebox';
import { MESSAGE_TYPES } from '../messages/message-model.js';
import { MODERATION_LEVELS, ROLES, ROOM_TYPES } from '../rooms/room-model.js';

/** JSON schemas for request validation, response serialization and the OpenAPI document. */

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const StringEnum = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

export const Id = Type.String({ minLength: 1, maxLength: 64 });
export const IsoTime = Type.String({ format: 'date-time' });

export const ErrorBody = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code' }),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { title: 'Error' },
);

export function envelope<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data });
}

export const UserSchema = Type.Object(
  {
    userId: Type.String(),
    username: Type.String(),
    displayName: Type.String(),
    avatar: Nullable(Type.String()),
    isAdmin: Type.Boolean(),
    isBot: Type.Boolean(),
    createdAt: IsoTime,
  },
  { title: 'User' },
);

export const RoomSettingsSchema = Type.Object(
  {
    allowInvites: Type.Boolean(),
    requireApproval: Type.Boolean(),
    allowFileUploads: Type.Boolean(),
    maxFileSize: Type.Integer({ minimum: 0, description: 'Bytes' }),
    allowedFileTypes: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 }),
    messageRetention: Type.Integer({ minimum: 0, description: 'Days; 0 keeps messages forever' }),
    enableAI: Type.Boolean(),
    aiAutoReply: Type.Boolean({
      description:
        "With enableAI: the assistant answers every member's message, not only mentions and commands (moderators and up still mention it)",
    }),
    moderationLevel: StringEnum(MODERATION_LEVELS),
    allowAnonymous: Type.Boolean({ description: 'Members may post under an alias (isAnonymous)' }),
  },
  { title: 'RoomSettings' },
);

export const RoomSchema = Type.Object(
  {
    roomId: Type.String(),
    name: Type.String(),
    description: Type.String(),
    type: StringEnum(ROOM_TYPES),
    avatar: Nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    memberCount: Type.Integer(),
    maxMembers: Type.Integer(),
    lastActivity: IsoTime,
    lastSeq: Type.Integer({ description: 'Seq of the newest event in the room log' }),
    settings: RoomSettingsSchema,
    isJoined: Type.Optional(Type.Boolean()),
    unreadCount: Type.Optional(Type.Integer()),
    role: Type.Optional(Nullable(StringEnum(ROLES))),
    readSeq: Type.Optional(Type.Integer()),
  },
  { title: 'Room' },
);

export const MemberSchema = Type.Object(
  {
    userId: Type.String(),
    username: Type.String(),
    displayName: Type.String(),
    avatar: Nullable(Type.String()),
    role: StringEnum(ROLES),
    joinedAt: IsoTime,
    readSeq: Type.Integer(),
    deliveredSeq: Type.Integer(),
    isBot: Type.Boolean(),
  },
  { title: 'Member' },
);

export const AttachmentSchema = Type.Object({
  id: Type.String(),
  type: StringEnum(['image', 'file', 'audio', 'video'] as const),
  url: Type.String(),
  thumbnailUrl: Type.Optional(Type.String()),
  fileName: Type.String(),
  fileSize: Type.Integer(),
  mimeType: Type.String(),
});

export const MessageSchema = Type.Object(
  {
    messageId: Type.String(),
    roomId: Type.String(),
    seq: Type.Integer(),
    authorId: Type.String(),
    authorName: Type.String(),
    authorAvatar: Nullable(Type.String()),
    content: Type.String(),
    type: StringEnum(MESSAGE_TYPES),
    timestamp: IsoTime,
    reactions: Type.Record(Type.String(), Type.Array(Type.String()), { description: 'emoji -> user ids' }),
    replyTo: Nullable(Type.String()),
    isEdited: Type.Boolean(),
    editedAt: Nullable(IsoTime),
    isDeleted: Type.Boolean(),
    isAnonymous: Type.Boolean(),
    anonymousName: Nullable(Type.String()),
    isPinned: Type.Boolean(),
    attachments: Type.Array(AttachmentSchema),
    clientMsgId: Nullable(Type.String()),
    metadata: Nullable(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'Message' },
);

export const OffsetPagination = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  hasMore: Type.Boolean(),
});

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});

export const RoomEventSchema = Type.Object(
  {
    type: Type.String(),
    roomId: Type.String(),
    seq: Type.Integer(),
    createdAt: IsoTime,
    actorId: Nullable(Type.String()),
  },
  {
    title: 'RoomEvent',
    additionalProperties: true,
    description: 'A room log event; fields beyond these depend on type (see docs/protocol.md)',
  },
);
