import type { Kysely } from 'kysely';
import type { AttachmentRow, AttachmentsTable, Database } from '../store/database.js';

export class AttachmentsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: AttachmentsTable): Promise<void> {
    await this.db.insertInto('attachments').values(row).execute();
  }

  async findById(id: string): Promise<AttachmentRow | undefined> {
    return this.db.selectFrom('attachments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByIds(ids: readonly string[]): Promise<AttachmentRow[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('attachments').selectAll().where('id', 'in', ids).execute();
  }

  async update(
    id: string,
    patch: Partial<Pick<AttachmentsTable, 'status' | 'thumb_key' | 'width' | 'height' | 'completed_at'>>,
  ): Promise<void> {
    await this.db.updateTable('attachments').set(patch).where('id', '=', id).execute();
  }

  /** Claims attachments for a message; only rows still unclaimed change. */
  async attachToMessage(ids: readonly string[], messageId: string): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.db
      .updateTable('attachments')
      .set({ message_id: messageId })
      .where('id', 'in', ids)
      .where('message_id', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Uploads of a user no message uses yet (pending or ready), for the quota. */
  async countUnattached(uploaderId: string): Promise<number> {
    const r = await this.db
      .selectFrom('attachments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('uploader_id', '=', uploaderId)
      .where('message_id', 'is', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Marks the attachments of these messages for deletion (the blobs go after commit). */
  async markDeletedForMessages(messageIds: readonly string[], now: number): Promise<number> {
    if (messageIds.length === 0) return 0;
    const r = await this.db
      .updateTable('attachments')
      .set({ deleted_at: now })
      .where('message_id', 'in', messageIds)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Marks uploads never used by a message and created before `before`. */
  async markAbandoned(before: number, now: number): Promise<number> {
    const r = await this.db
      .updateTable('attachments')
      .set({ deleted_at: now })
      .where('message_id', 'is', null)
      .where('created_at', '<', before)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async markDeleted(id: string, now: number): Promise<void> {
    await this.db.updateTable('attachments').set({ deleted_at: now }).where('id', '=', id).execute();
  }

  async listDeleted(limit: number): Promise<AttachmentRow[]> {
    return this.db
      .selectFrom('attachments')
      .selectAll()
      .where('deleted_at', 'is not', null)
      .orderBy('deleted_at')
      .limit(limit)
      .execute();
  }

  async deleteRows(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('attachments').where('id', 'in', ids).execute();
  }
}
