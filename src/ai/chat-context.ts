import type { MessageWithAuthor } from '../messages/messages.repository.js';
import type { Repos } from '../store/store.js';
import type { ContextLine } from './prompts.js';

/** Deepest reply chain followed for a thread's context. */
export const THREAD_MAX_DEPTH = 20;

/** Reads the chat messages an answer is built from, as the model sees them. */
export class ChatContext {
  constructor(private readonly repos: Repos) {}

  /** The newest `limit` messages of the room below `beforeSeq` (and above `afterSeq`), oldest first. */
  async recent(roomId: string, beforeSeq: number, limit: number, afterSeq?: number): Promise<ContextLine[]> {
    const rows = await this.repos.messages.history({
      roomId,
      beforeSeq,
      ...(afterSeq !== undefined ? { afterSeq } : {}),
      limit,
    });
    return rows.flatMap((r) => toLine(r) ?? []);
  }

  /** The reply chain above a message (its ancestors), oldest first; deleted messages are skipped. */
  async thread(roomId: string, replyTo: string | null): Promise<ContextLine[]> {
    const out: ContextLine[] = [];
    const seen = new Set<string>();
    let next = replyTo;
    while (next && out.length < THREAD_MAX_DEPTH && !seen.has(next)) {
      seen.add(next);
      const row = await this.repos.messages.withAuthor(next);
      if (!row || row.room_id !== roomId) break;
      const line = toLine(row);
      if (line) out.push(line);
      next = row.reply_to;
    }
    return out.reverse();
  }

  /** One live message of the room. */
  async message(roomId: string, messageId: string): Promise<ContextLine | undefined> {
    const row = await this.repos.messages.withAuthor(messageId);
    if (!row || row.room_id !== roomId) return undefined;
    return toLine(row);
  }
}

/** A stored message as a context line; undefined for deleted or empty ones. */
function toLine(m: MessageWithAuthor): ContextLine | undefined {
  if (m.deleted_at !== null) return undefined;
  // Anonymous messages keep their alias: the model must not learn (and repeat) who wrote them.
  const author = m.is_anonymous === 1 ? (m.anonymous_name ?? 'Anonymous') : (m.author_name ?? 'unknown');
  let content = m.content.trim();
  if (content === '' && m.attachments) content = '[attachment]';
  if (content === '') return undefined;
  return { messageId: m.id, seq: m.seq, author, content };
}
