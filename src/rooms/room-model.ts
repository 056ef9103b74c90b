/** Room kinds, as in the chat service's data model. */
export const ROOM_TYPES = ['public', 'private', 'group', 'direct', 'announcement'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];

/** Member roles, strongest first. */
export const ROLES = ['owner', 'admin', 'moderator', 'member'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { owner: 3, admin: 2, moderator: 1, member: 0 };

export function roleRank(role: string): number {
  return RANK[role as Role] ?? -1;
}

export function atLeast(role: string, min: Role): boolean {
  return roleRank(role) >= RANK[min];
}

export const MODERATION_LEVELS = ['none', 'basic', 'strict'] as const;
export type ModerationLevel = (typeof MODERATION_LEVELS)[number];

export interface RoomSettings {
  allowInvites: boolean;
  requireApproval: boolean;
  allowFileUploads: boolean;
  /** Bytes. */
  maxFileSize: number;
  /** MIME types or `type/*` patterns; empty means any. */
  allowedFileTypes: string[];
  /** Days; 0 keeps messages forever. */
  messageRetention: number;
  enableAI: boolean;
  /** With enableAI: the assistant answers every member's message, not only mentions and commands; moderators and up still mention it (bridged rooms). */
  aiAutoReply: boolean;
  moderationLevel: ModerationLevel;
  /** Members may post under an alias; moderators still see who wrote it. */
  allowAnonymous: boolean;
}

export function defaultSettings(opts: { maxFileSize: number; retentionDays: number }): RoomSettings {
  return {
    allowInvites: true,
    requireApproval: false,
    allowFileUploads: true,
    maxFileSize: opts.maxFileSize,
    allowedFileTypes: [],
    messageRetention: opts.retentionDays,
    enableAI: false,
    aiAutoReply: false,
    moderationLevel: 'none',
    allowAnonymous: false,
  };
}

/**
 * Stored settings of a room. Rooms created before a setting existed lack it: such a setting reads
 * as its most restrictive value, never as undefined.
 */
export function readSettings(json: string): RoomSettings {
  let stored: Partial<RoomSettings> = {};
  try {
    stored = JSON.parse(json) as Partial<RoomSettings>;
  } catch {
    // A corrupt column must not open a room up: fall through to the restrictive defaults.
  }
  return {
    allowInvites: false,
    requireApproval: false,
    allowFileUploads: false,
    maxFileSize: 0,
    allowedFileTypes: [],
    messageRetention: 0,
    enableAI: false,
    aiAutoReply: false,
    moderationLevel: 'none',
    allowAnonymous: false,
    ...stored,
  };
}

/** Default member cap per room type; `group` is a small private group. */
export const DEFAULT_MAX_MEMBERS: Record<RoomType, number> = {
  public: 10_000,
  private: 1_000,
  group: 50,
  direct: 2,
  announcement: 100_000,
};

export interface RoomView {
  roomId: string;
  name: string;
  description: string;
  type: RoomType;
  avatar: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  memberCount: number;
  maxMembers: number;
  lastActivity: string;
  lastSeq: number;
  settings: RoomSettings;
  /** Present when listed for a user. */
  isJoined?: boolean;
  unreadCount?: number;
  role?: Role | null;
  readSeq?: number;
}

export interface MemberView {
  userId: string;
  username: string;
  displayName: string;
  avatar: string | null;
  role: Role;
  joinedAt: string;
  readSeq: number;
  deliveredSeq: number;
  isBot: boolean;
}
