import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { isAppError } from '../errors/errors.js';
import type { MessageView } from '../messages/message-model.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { UsersService } from '../users/users.service.js';

/** The one room holding every system announcement; `room_` ids the server generates are longer. */
export const SYSTEM_ROOM_ID = 'room_system';
export const SYSTEM_ROOM_NAME = 'Announcements';

export const ANNOUNCEMENT_LEVELS = ['info', 'warning', 'critical'] as const;
export type AnnouncementLevel = (typeof ANNOUNCEMENT_LEVELS)[number];

export interface AnnouncementInput {
  content: string;
  title?: string;
  /** @default 'info' */
  level?: AnnouncementLevel;
}

/** An announcement as clients see it, live (`announcement` frame) and over REST. */
export interface AnnouncementView {
  messageId: string;
  roomId: string;
  seq: number;
  title?: string;
  content: string;
  level: AnnouncementLevel;
  createdAt: string;
  authorId: string;
}

export interface AnnouncementPage {
  /** Newest first. */
  announcements: AnnouncementView[];
  pagination: {
    hasMore: boolean;
    limit: number;
    /** Seq of the oldest announcement on the page: pass it as `before` for the next page. */
    before: number | null;
  };
}

/**
 * System announcements: a server admin posts one, it is stored as a `system` message in the system
 * room (so it is in that room's log and replayable) and pushed to every connection on every node.
 */
export class AnnouncementsService {
  constructor(
    private readonly users: UsersService,
    private readonly rooms: RoomsService,
    private readonly messages: MessagesService,
    private readonly bus: Bus,
  ) {}

  async post(p: Principal, input: AnnouncementInput): Promise<AnnouncementView> {
    await this.users.requireServerAdmin(p.userId);
    const level = input.level ?? 'info';
    const title = input.title?.trim();
    await this.rooms.ensureSystemRoom(SYSTEM_ROOM_ID, SYSTEM_ROOM_NAME, p.userId);
    const { message } = await this.messages.postSystem(SYSTEM_ROOM_ID, p.userId, input.content, {
      announcement: { level, ...(title ? { title } : {}) },
    });
    const announcement = toAnnouncementView(message);
    // After commit, like every publish: a client that misses the frame finds it in the room log.
    this.bus.publishEphemeral({ all: true }, { type: 'announcement', announcement });
    return announcement;
  }

  /** Newest first, paged back by seq. Any authenticated user may read them. */
  async list(p: Principal, q: { limit: number; before?: number }): Promise<AnnouncementPage> {
    let page: Awaited<ReturnType<MessagesService['history']>>;
    try {
      page = await this.messages.history(p, SYSTEM_ROOM_ID, {
        limit: q.limit,
        ...(q.before !== undefined ? { before: String(q.before) } : {}),
      });
    } catch (err) {
      // Nothing was ever announced: the room does not exist yet.
      if (isAppError(err) && err.code === 'ROOM_NOT_FOUND') {
        return { announcements: [], pagination: { hasMore: false, limit: q.limit, before: null } };
      }
      throw err;
    }
    const announcements = page.messages
      .filter((m) => m.type === 'system' && !m.isDeleted)
      .map(toAnnouncementView)
      .reverse();
    return {
      announcements,
      pagination: { hasMore: page.pagination.hasMore, limit: q.limit, before: page.pagination.before },
    };
  }
}

function toAnnouncementView(m: MessageView): AnnouncementView {
  const meta = (m.metadata?.announcement ?? {}) as { title?: unknown; level?: unknown };
  const level = ANNOUNCEMENT_LEVELS.includes(meta.level as AnnouncementLevel)
    ? (meta.level as AnnouncementLevel)
    : 'info';
  return {
    messageId: m.messageId,
    roomId: m.roomId,
    seq: m.seq,
    ...(typeof meta.title === 'string' ? { title: meta.title } : {}),
    content: m.content,
    level,
    createdAt: m.timestamp,
    authorId: m.authorId,
  };
}
