import type { Insertable, Kysely, Selectable } from 'kysely';
import type {
  ApiKeysTable,
  BridgeConversationsTable,
  BridgeOutboxTable,
  Database,
} from '../store/database.js';

export type ConversationRow = Selectable<BridgeConversationsTable>;
export type OutboxRow = Selectable<BridgeOutboxTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;

/** The only code that touches the bridge tables and `api_keys`. Times are epoch ms from the caller. */
export class BridgesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- conversations ----

  findConversation(platform: string, externalId: string): Promise<ConversationRow | undefined> {
    return this.db
      .selectFrom('bridge_conversations')
      .selectAll()
      .where('platform', '=', platform)
      .where('external_id', '=', externalId)
      .executeTakeFirst();
  }

  findConversationById(id: string): Promise<ConversationRow | undefined> {
    return this.db.selectFrom('bridge_conversations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Inserts unless (platform, external_id) exists; true if this call inserted it. */
  async insertConversation(row: Insertable<BridgeConversationsTable>): Promise<boolean> {
    const r = await this.db
      .insertInto('bridge_conversations')
      .values(row)
      .onConflict((oc) => oc.columns(['platform', 'external_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  conversationsOfRooms(roomIds: readonly string[]): Promise<{ id: string; room_id: string }[]> {
    if (roomIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('bridge_conversations')
      .select(['id', 'room_id'])
      .where('room_id', 'in', roomIds)
      .execute();
  }

  listConversations(q: { platform?: string; roomId?: string; limit: number; offset: number }) {
    let query = this.db.selectFrom('bridge_conversations').selectAll();
    if (q.platform) query = query.where('platform', '=', q.platform);
    if (q.roomId) query = query.where('room_id', '=', q.roomId);
    return query.orderBy('created_at', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute();
  }

  async deleteConversation(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('bridge_conversations').where('id', '=', id).executeTakeFirst();
    await this.db.deleteFrom('bridge_messages').where('conversation_id', '=', id).execute();
    await this.db.deleteFrom('bridge_outbox').where('conversation_id', '=', id).execute();
    return Number(r.numDeletedRows) > 0;
  }

  /** Starts a new AI session, unless another request started one since `previousStart`. */
  async restartSession(
    id: string,
    previousStart: number,
    startedAt: number,
    startSeq: number,
  ): Promise<void> {
    await this.db
      .updateTable('bridge_conversations')
      .set({ session_started_at: startedAt, session_start_seq: startSeq, updated_at: startedAt })
      .where('id', '=', id)
      .where('session_started_at', '=', previousStart)
      .execute();
  }

  async setReplyToken(id: string, token: string, expiresAt: number, now: number): Promise<void> {
    await this.db
      .updateTable('bridge_conversations')
      .set({ reply_token: token, reply_token_expires_at: expiresAt, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** Forgets the token once used, unless a newer command replaced it meanwhile. */
  async clearReplyToken(id: string, token: string): Promise<void> {
    await this.db
      .updateTable('bridge_conversations')
      .set({ reply_token: null, reply_token_expires_at: null })
      .where('id', '=', id)
      .where('reply_token', '=', token)
      .execute();
  }

  /** The room's most recent AI session start among its conversations (the context floor). */
  async sessionFloor(roomId: string): Promise<{ startedAt: number; startSeq: number } | undefined> {
    const r = await this.db
      .selectFrom('bridge_conversations')
      .select(['session_started_at', 'session_start_seq'])
      .where('room_id', '=', roomId)
      .orderBy('session_started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? { startedAt: r.session_started_at, startSeq: Number(r.session_start_seq) } : undefined;
  }

  // ---- messages that crossed ----

  async recordMessage(
    conversationId: string,
    externalId: string,
    messageId: string,
    now: number,
  ): Promise<void> {
    await this.db
      .insertInto('bridge_messages')
      .values({
        conversation_id: conversationId,
        external_id: externalId,
        message_id: messageId,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['conversation_id', 'external_id']).doNothing())
      .execute();
  }

  async messageIdFor(conversationId: string, externalId: string): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('bridge_messages')
      .select('message_id')
      .where('conversation_id', '=', conversationId)
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    return r?.message_id;
  }

  /** The first platform id of a message in a conversation (a long message may have become several). */
  async externalIdFor(conversationId: string, messageId: string): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('bridge_messages')
      .select('external_id')
      .where('message_id', '=', messageId)
      .where('conversation_id', '=', conversationId)
      .orderBy('created_at')
      .orderBy('external_id')
      .limit(1)
      .executeTakeFirst();
    return r?.external_id;
  }

  // ---- outbox ----

  async insertOutbox(rows: Insertable<BridgeOutboxTable>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('bridge_outbox')
      .values(rows)
      .onConflict((oc) => oc.columns(['conversation_id', 'message_id']).doNothing())
      .execute();
  }

  /** Rows committed but not yet handed to the job queue, oldest first. */
  unqueued(limit: number): Promise<OutboxRow[]> {
    return this.db
      .selectFrom('bridge_outbox')
      .selectAll()
      .where('queued', '=', 0)
      .orderBy('created_at')
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  async markQueued(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('bridge_outbox').set({ queued: 1 }).where('id', 'in', ids).execute();
  }

  findOutbox(id: string): Promise<OutboxRow | undefined> {
    return this.db.selectFrom('bridge_outbox').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async finishOutbox(
    id: string,
    change: { status: string; attempts: number; lastError: string | null },
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable('bridge_outbox')
      .set({
        status: change.status,
        attempts: change.attempts,
        last_error: change.lastError,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  /** How a message went out to each conversation of its room. */
  outboxOfMessage(messageId: string): Promise<OutboxRow[]> {
    return this.db
      .selectFrom('bridge_outbox')
      .selectAll()
      .where('message_id', '=', messageId)
      .orderBy('conversation_id')
      .execute();
  }

  /** Deletes finished rows older than `before`; returns how many. */
  async purgeOutbox(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('bridge_outbox')
      .where('status', '!=', 'pending')
      .where('updated_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- API keys ----

  async insertKey(row: Insertable<ApiKeysTable>): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  findKeyByHash(hash: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
  }

  findKey(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listKeys(): Promise<ApiKeyRow[]> {
    return this.db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
  }

  async countActiveKeys(): Promise<number> {
    const r = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async touchKey(id: string, now: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }
}
