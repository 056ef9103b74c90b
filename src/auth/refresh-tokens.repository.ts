import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, RefreshTokensTable } from '../store/database.js';

export type RefreshTokenRow = Selectable<RefreshTokensTable>;

export class RefreshTokensRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: Insertable<RefreshTokensTable>): Promise<void> {
    await this.db.insertInto('refresh_tokens').values(row).execute();
  }

  findByHash(hash: string): Promise<RefreshTokenRow | undefined> {
    return this.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  }

  /** Marks one token used; false if it was already revoked (a concurrent or replayed refresh). */
  async revoke(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async revokeFamily(familyId: string, now: number): Promise<void> {
    await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async deleteExpired(now: number): Promise<number> {
    const r = await this.db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
