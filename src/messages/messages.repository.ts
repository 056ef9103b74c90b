import { type Kysely, sql } from 'kysely';
import { chunks } from '../shared/collections.js';
import type { Database, MessageRow, MessagesTable, NewMessageRow } from '../store/database.js';

/** Keys per idempotency lookup: two bound parameters each, far below every driver's limit. */
const KEY_CHUNK = 1000;

export interface HistoryQuery {
  roomId: string;
  /** Messages with seq strictly below. */
  beforeSeq?: number;
  /** Messages with seq strictly above. */
  afterSeq?: number;
  limit: number;
}

export type MessageWithAuthor = MessageRow & {
  author_name: string | null;
  author_avatar: string | null;
};

export class MessagesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertMany(rows: NewMessageRow[]): Promise<void> {
    // Chunked: a group-commit batch spans many rooms; ~30 columns x 500 rows stays below SQLite's
    // and PostgreSQL's bound-parameter limits.
    for (const chunk of chunks(rows, 500)) await this.db.insertInto('messages').values(chunk).execute();
  }

  findById(id: string): Promise<MessageRow | undefined> {
    return this.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByIds(ids: readonly string[]): Promise<MessageRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('messages').selectAll().where('id', 'in', ids).execute();
  }

  /** Messages stored under any of the given (author, clientMsgId) keys, in one query per chunk. */
  async findByClientKeys(keys: readonly { authorId: string; clientMsgId: string }[]): Promise<MessageRow[]> {
    const rows: MessageRow[] = [];
    for (const chunk of chunks(keys, KEY_CHUNK)) {
      const pairs = sql.join(chunk.map((k) => sql`(${k.authorId}, ${k.clientMsgId})`));
      rows.push(
        ...(await this.db
          .selectFrom('messages')
          .selectAll()
          .where(sql<boolean>`(author_id, client_msg_id) in (values ${pairs})`)
          .execute()),
      );
    }
    return rows;
  }

  /** Existing messages for idempotency keys of one sender. */
  findByClientIds(authorId: string, clientMsgIds: readonly string[]): Promise<MessageRow[]> {
    if (clientMsgIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('messages')
      .selectAll()
      .where('author_id', '=', authorId)
      .where('client_msg_id', 'in', clientMsgIds)
      .execute();
  }

  /**
   * A page of history. With only `beforeSeq` (or nothing) it returns the newest `limit` messages
   * below the cursor; with `afterSeq` the oldest above it. Always returned oldest first.
   */
  async history(q: HistoryQuery): Promise<MessageWithAuthor[]> {
    let sel = this.withAuthors().where('messages.room_id', '=', q.roomId);
    if (q.beforeSeq !== undefined) sel = sel.where('messages.seq', '<', q.beforeSeq);
    if (q.afterSeq !== undefined) sel = sel.where('messages.seq', '>', q.afterSeq);
    const ascending = q.afterSeq !== undefined && q.beforeSeq === undefined;
    const rows = await sel
      .orderBy('messages.seq', ascending ? 'asc' : 'desc')
      .limit(q.limit)
      .execute();
    return ascending ? rows : rows.reverse();
  }

  /** Messages joined with their author's current name and avatar. */
  private withAuthors() {
    return this.db
      .selectFrom('messages')
      .leftJoin('users', 'users.id', 'messages.author_id')
      .selectAll('messages')
      .select(['users.display_name as author_name', 'users.avatar as author_avatar']);
  }

  withAuthor(id: string): Promise<MessageWithAuthor | undefined> {
    return this.withAuthors().where('messages.id', '=', id).executeTakeFirst();
  }

  /**
   * Live messages answering `messageId` (at `seq`) in its room, oldest first. Replies come after the
   * message, so the scan is a range of the room's (room_id, seq) index.
   */
  replies(roomId: string, messageId: string, seq: number, limit: number): Promise<MessageWithAuthor[]> {
    return this.withAuthors()
      .where('messages.room_id', '=', roomId)
      .where('messages.seq', '>', seq)
      .where('messages.reply_to', '=', messageId)
      .where('messages.deleted_at', 'is', null)
      .orderBy('messages.seq')
      .limit(limit)
      .execute();
  }

  pinned(roomId: string): Promise<MessageWithAuthor[]> {
    return this.withAuthors()
      .where('messages.room_id', '=', roomId)
      .where('messages.is_pinned', '=', 1)
      .orderBy('messages.pinned_at', 'desc')
      .limit(100)
      .execute();
  }

  async update(
    id: string,
    patch: Partial<
      Pick<
        MessagesTable,
        | 'content'
        | 'edited_at'
        | 'deleted_at'
        | 'deleted_by'
        | 'is_pinned'
        | 'pinned_by'
        | 'pinned_at'
        | 'attachments'
      >
    >,
  ): Promise<void> {
    await this.db.updateTable('messages').set(patch).where('id', '=', id).execute();
  }

  /** `msg_no` of the newest message at or below `seq` (0 if none): the read counter for unread counts. */
  async msgNoAtSeq(roomId: string, seq: number): Promise<number> {
    const row = await this.db
      .selectFrom('messages')
      .select('msg_no')
      .where('room_id', '=', roomId)
      .where('seq', '<=', seq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.msg_no ?? 0;
  }

  // ---- reactions ----

  /** Adds a reaction; false if the user already had it. */
  async addReaction(
    messageId: string,
    roomId: string,
    userId: string,
    emoji: string,
    now: number,
  ): Promise<boolean> {
    const r = await this.db
      .insertInto('reactions')
      .values({ message_id: messageId, room_id: roomId, user_id: userId, emoji, created_at: now })
      .onConflict((oc) => oc.columns(['message_id', 'user_id', 'emoji']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async removeReaction(messageId: string, userId: string, emoji: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('reactions')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .where('emoji', '=', emoji)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async clearReactions(messageId: string): Promise<void> {
    await this.db.deleteFrom('reactions').where('message_id', '=', messageId).execute();
  }

  async reactionUsers(messageId: string, emoji: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('reactions')
      .select('user_id')
      .where('message_id', '=', messageId)
      .where('emoji', '=', emoji)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** emoji -> user ids for each message, in reaction order. */
  async reactionsFor(messageIds: readonly string[]): Promise<Map<string, Record<string, string[]>>> {
    const out = new Map<string, Record<string, string[]>>();
    if (messageIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('reactions')
      .select(['message_id', 'emoji', 'user_id'])
      .where('message_id', 'in', messageIds)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
    for (const r of rows) {
      const byEmoji = out.get(r.message_id) ?? {};
      out.set(r.message_id, byEmoji);
      byEmoji[r.emoji] = [...(byEmoji[r.emoji] ?? []), r.user_id];
    }
    return out;
  }

  async countReactionKinds(messageId: string, userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('reactions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
