import { iso, parseJson } from '../shared/json.js';
import type { MessageRow } from '../store/database.js';
import type { Attachment, MessageType, MessageView } from './message-model.js';

/** Stands in for the author of an anonymous message in every view but a moderator's. */
export const ANONYMOUS_AUTHOR_ID = 'anonymous';
export const DEFAULT_ANONYMOUS_NAME = 'Anonymous';

/**
 * Public view of a stored message; deleted messages keep their place as tombstones without content.
 * An anonymous message shows its alias instead of its author (and no clientMsgId, which could link
 * it to a device) unless `revealAuthor` is set, which only moderators' views do.
 */
export function toMessageView(
  m: MessageRow,
  author: { name: string | null; avatar: string | null },
  reactions: Record<string, string[]> = {},
  opts: { revealAuthor?: boolean } = {},
): MessageView {
  const deleted = m.deleted_at !== null;
  const hidden = m.is_anonymous === 1 && opts.revealAuthor !== true;
  const alias = m.anonymous_name ?? DEFAULT_ANONYMOUS_NAME;
  return {
    messageId: m.id,
    roomId: m.room_id,
    seq: m.seq,
    authorId: hidden ? ANONYMOUS_AUTHOR_ID : m.author_id,
    authorName: hidden ? alias : (author.name ?? 'deleted user'),
    authorAvatar: hidden ? null : author.avatar,
    content: deleted ? '' : m.content,
    type: m.type as MessageType,
    timestamp: iso(m.created_at),
    reactions: deleted ? {} : reactions,
    replyTo: m.reply_to,
    isEdited: m.edited_at !== null,
    editedAt: iso(m.edited_at),
    isDeleted: deleted,
    isAnonymous: m.is_anonymous === 1,
    anonymousName: m.is_anonymous === 1 ? alias : null,
    isPinned: m.is_pinned === 1,
    attachments: deleted ? [] : parseJson<Attachment[]>(m.attachments, []),
    clientMsgId: hidden ? null : m.client_msg_id,
    metadata: deleted ? null : parseJson<Record<string, unknown> | null>(m.metadata, null),
  };
}
