import { type Insertable, type Kysely, sql } from 'kysely';
import type { Database, UserRow, UsersTable } from '../store/database.js';

export class UsersRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: Insertable<UsersTable>): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByIds(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
  }

  findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  findByExternal(issuer: string, subject: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('external_issuer', '=', issuer)
      .where('external_subject', '=', subject)
      .executeTakeFirst();
  }

  /** Users whose username or display name starts with `prefix` (case-insensitive). */
  search(prefix: string, limit: number, offset: number): Promise<UserRow[]> {
    const p = `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return (
      this.db
        .selectFrom('users')
        .selectAll()
        // ESCAPE spelled out: SQLite has no default LIKE escape character.
        .where(sql<boolean>`(username like ${p} escape '\\' or lower(display_name) like ${p} escape '\\')`)
        .orderBy('username')
        .limit(limit)
        .offset(offset)
        .execute()
    );
  }

  async update(
    id: string,
    patch: Partial<Pick<UsersTable, 'display_name' | 'avatar' | 'password_hash' | 'is_admin'>>,
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ ...patch, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}
