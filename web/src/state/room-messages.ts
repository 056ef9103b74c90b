import type { LogEventFrame } from '../../../src/client/index.js';
import type { Message } from '../api/types';

/** At most this many updates wait for a message that is not loaded yet, per room. */
const MAX_PENDING = 500;

/**
 * The messages of one room as the page knows them: pages of history (REST, oldest first) merged with
 * live events (SDK, exactly once, in order), keyed by message id and ordered by seq. A history page
 * may have been read before an event that arrived first; messages that an event touched keep the
 * event's version, and events about messages not loaded yet are kept and applied when they arrive.
 */
export class RoomMessages {
  private readonly byId = new Map<string, Message>();
  private readonly live = new Set<string>();
  private readonly pending = new Map<string, LogEventFrame[]>();
  private pendingCount = 0;
  private sorted: Message[] | undefined;
  /** The newest page has been loaded over REST. */
  loaded = false;
  /** Older messages exist before the oldest one loaded. */
  hasMoreBefore = true;
  loadingOlder = false;

  list(): Message[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => a.seq - b.seq);
    return this.sorted;
  }

  get(messageId: string): Message | undefined {
    return this.byId.get(messageId);
  }

  get oldestSeq(): number | undefined {
    return this.list()[0]?.seq;
  }

  get newestSeq(): number | undefined {
    return this.list().at(-1)?.seq;
  }

  /** Merges a history page; returns how many messages were new. */
  mergePage(messages: Message[]): number {
    let added = 0;
    for (const m of messages) {
      if (!this.byId.has(m.messageId)) added++;
      if (!this.live.has(m.messageId)) this.byId.set(m.messageId, m);
      const waiting = this.pending.get(m.messageId);
      if (waiting) {
        this.pending.delete(m.messageId);
        this.pendingCount -= waiting.length;
        for (const e of waiting) this.apply(e);
      }
    }
    this.sorted = undefined;
    return added;
  }

  /** Applies a log event; returns false when it does not concern messages. */
  apply(e: LogEventFrame): boolean {
    switch (e.type) {
      case 'new_message':
      case 'message_updated':
        this.put(e.message as Message);
        return true;
      case 'message_deleted':
        return this.patch(e, (m) => ({
          ...m,
          isDeleted: true,
          content: '',
          reactions: {},
          attachments: [],
          isPinned: false,
        }));
      case 'reaction_updated': {
        const users = e.users as string[];
        const emoji = e.emoji as string;
        return this.patch(e, (m) => {
          const reactions = { ...m.reactions };
          if (users.length > 0) reactions[emoji] = users;
          else delete reactions[emoji];
          return { ...m, reactions };
        });
      }
      default:
        return false;
    }
  }

  private put(m: Message): void {
    this.byId.set(m.messageId, m);
    this.live.add(m.messageId);
    this.sorted = undefined;
  }

  private patch(e: LogEventFrame, change: (m: Message) => Message): boolean {
    const id = e.messageId as string;
    const m = this.byId.get(id);
    if (m) {
      this.put(change(m));
      return true;
    }
    if (this.pendingCount < MAX_PENDING) {
      const list = this.pending.get(id) ?? [];
      list.push(e);
      this.pending.set(id, list);
      this.pendingCount++;
    }
    return true;
  }

  has(messageId: string): boolean {
    return this.byId.has(messageId);
  }

  hasClientMsgId(clientMsgId: string): boolean {
    for (const m of this.byId.values()) if (m.clientMsgId === clientMsgId) return true;
    return false;
  }
}
