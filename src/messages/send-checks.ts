import type { AppError } from '../errors/errors.js';
import { Errors } from '../errors/errors.js';
import type { ContentPolicy } from '../moderation/content-policy.js';
import { isDiscoverable } from '../rooms/room-access.js';
import { atLeast, readSettings } from '../rooms/room-model.js';
import type { AttachmentRow, UserRow } from '../store/database.js';
import type { Repos } from '../store/store.js';
import type { SendItem } from './send-batch.js';

export interface SendContext {
  authors: Map<string, UserRow>;
  /** Attachments the batch's items claim, by id. */
  attachments: Map<string, AttachmentRow>;
  /** Items (by index) refused, with why. */
  refused: Map<number, AppError>;
}

/**
 * Checks a batch of sends inside its transaction, with one query per table for the whole batch
 * instead of several per message: the room exists and the author may see it, is a member, is not
 * banned or muted, may post in an announcement room, may post anonymously if asked, `replyTo` is a
 * message of the same room, and the text passes the room's local moderation filter.
 * Doing it inside the transaction also means a kick or ban can no longer slip in between check and commit.
 */
export async function checkSends(
  r: Repos,
  items: readonly SendItem[],
  indexes: readonly number[],
  policy: ContentPolicy,
): Promise<SendContext> {
  const refused = new Map<number, AppError>();
  const authorIds = [...new Set(items.map((it) => it.authorId))];
  const checked = indexes.filter((i) => items[i]!.authorize);
  const roomIds = [...new Set(checked.map((i) => items[i]!.roomId))];
  const pairs = [
    ...new Map(
      checked.map((i) => [
        `${items[i]!.roomId}\u0000${items[i]!.authorId}`,
        { roomId: items[i]!.roomId, userId: items[i]!.authorId },
      ]),
    ).values(),
  ];
  const parentIds = [...new Set(checked.flatMap((i) => (items[i]!.replyTo ? [items[i]!.replyTo!] : [])))];
  const attachmentIds = [...new Set(indexes.flatMap((i) => items[i]!.attachmentIds ?? []))];
  const now = items[0]?.now ?? Date.now();
  const [authors, rooms, members, bans, parents, files] = await Promise.all([
    r.users.findByIds(authorIds),
    r.rooms.findByIds(roomIds),
    r.rooms.membershipsOf(pairs),
    r.rooms.bansOf(pairs, now),
    r.messages.findByIds(parentIds),
    r.attachments.findByIds(attachmentIds),
  ]);
  const fileById = new Map(files.map((f) => [f.id, f]));
  /** Attachments claimed by an earlier item of this batch. */
  const claimed = new Set<string>();
  const authorById = new Map(authors.map((u) => [u.id, u]));
  const roomById = new Map(rooms.map((x) => [x.id, x]));
  const memberOf = new Map(members.map((m) => [`${m.room_id}\u0000${m.user_id}`, m]));
  const banned = new Set(bans.map((b) => `${b.room_id}\u0000${b.user_id}`));
  const parentById = new Map(parents.map((m) => [m.id, m]));
  const settingsOf = new Map(rooms.map((x) => [x.id, readSettings(x.settings)]));

  for (const i of indexes) {
    const it = items[i]!;
    if (!it.authorize) {
      // Server posts authorized themselves; the files they attach are still checked and claimed once.
      const fileError = checkAttachments(it, fileById, claimed);
      if (fileError) refused.set(i, fileError);
      else for (const id of it.attachmentIds ?? []) claimed.add(id);
      continue;
    }
    if (!authorById.has(it.authorId)) {
      refused.set(i, Errors.userNotFound('The sending user no longer exists'));
      continue;
    }
    const room = roomById.get(it.roomId);
    const key = `${it.roomId}\u0000${it.authorId}`;
    const member = memberOf.get(key);
    // Same answers as loadRoom/requireMember: rooms one may not see do not exist.
    if (!room || (!member && !isDiscoverable(room.type))) refused.set(i, Errors.roomNotFound());
    else if (banned.has(key)) refused.set(i, Errors.banned());
    else if (!member) refused.set(i, Errors.notMember());
    else if (room.type === 'announcement' && !atLeast(member.role, 'admin'))
      refused.set(i, Errors.readOnlyRoom());
    else if (member.muted_until !== null && member.muted_until > it.now) {
      refused.set(
        i,
        Errors.muted(`You are muted in this room until ${new Date(member.muted_until).toISOString()}`, {
          mutedUntil: new Date(member.muted_until).toISOString(),
        }),
      );
    } else if (it.isAnonymous && !settingsOf.get(it.roomId)!.allowAnonymous) {
      refused.set(i, Errors.forbidden('This room does not allow anonymous messages'));
    } else if (it.replyTo && parentById.get(it.replyTo)?.room_id !== it.roomId) {
      refused.set(i, Errors.messageNotFound('replyTo: no such message in this room'));
    } else {
      const texts = [it.content, ...(it.anonymousName ? [it.anonymousName] : []), ...(it.extraTexts ?? [])];
      const blocked = policy.checkLocal(settingsOf.get(it.roomId)!.moderationLevel, texts);
      const fileError = blocked ?? checkAttachments(it, fileById, claimed);
      if (fileError) refused.set(i, fileError);
      else for (const id of it.attachmentIds ?? []) claimed.add(id);
    }
  }
  return { authors: authorById, attachments: fileById, refused };
}

/** Each attachment: uploaded by the author to this room, complete, and used by no other message. */
function checkAttachments(
  it: SendItem,
  files: Map<string, AttachmentRow>,
  claimed: Set<string>,
): AppError | undefined {
  for (const id of it.attachmentIds ?? []) {
    const f = files.get(id);
    if (!f || f.deleted_at !== null || f.room_id !== it.roomId || f.uploader_id !== it.authorId) {
      return Errors.attachmentNotFound(`Attachment ${id}: none of yours in this room`);
    }
    if (f.status !== 'ready')
      return Errors.uploadIncomplete(`Attachment ${id} has not been completely uploaded`);
    if (f.message_id !== null || claimed.has(id)) {
      return Errors.conflict(`Attachment ${id} already belongs to a message`);
    }
  }
  return undefined;
}
