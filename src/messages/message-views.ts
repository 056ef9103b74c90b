import { iso, parseJson } from '../shared/json.js';
import type { MessageRow } from '../store/database.js';
import type { Attachment, MessageType, MessageView } from './message-model.js';

/** Public view of a stored message; deleted messages keep their place as tombstones without content. */
export function toMessageView(
  m: MessageRow,
  author: { name: string | null; avatar: string | null },
  reactions: Record<string, string[]> = {},
): MessageView {
  const deleted = m.deleted_at !== null;
  return {
    messageId: m.id,
    roomId: m.room_id,
    seq: m.seq,
    authorId: m.author_id,
    authorName: author.name ?? 'deleted user',
    authorAvatar: author.avatar,
    content: deleted ? '' : m.content,
    type: m.type as MessageType,
    timestamp: iso(m.created_at),
    reactions: deleted ? {} : reactions,
    replyTo: m.reply_to,
    isEdited: m.edited_at !== null,
    editedAt: iso(m.edited_at),
    isDeleted: deleted,
    isAnonymous: m.is_anonymous === 1,
    anonymousName: m.anonymous_name,
    isPinned: m.is_pinned === 1,
    attachments: deleted ? [] : parseJson<Attachment[]>(m.attachments, []),
    clientMsgId: m.client_msg_id,
    metadata: deleted ? null : parseJson<Record<string, unknown> | null>(m.metadata, null),
  };
}
