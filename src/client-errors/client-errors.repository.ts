import type { Insertable, Kysely } from 'kysely';
import type { ClientErrorRow, ClientErrorsTable, Database } from '../store/database.js';

export interface ClientErrorQuery {
  /** Only this user's reports. */
  userId?: string;
  /** Reports strictly older than this one (its `created_at`, then `id`): the keyset cursor. */
  before?: { createdAt: number; id: string };
  limit: number;
}

/** The `client_errors` table. Newest first everywhere: by `created_at`, ties broken by `id`. */
export class ClientErrorsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: Insertable<ClientErrorsTable>): Promise<void> {
    await this.db.insertInto('client_errors').values(row).execute();
  }

  findById(id: string): Promise<ClientErrorRow | undefined> {
    return this.db.selectFrom('client_errors').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(q: ClientErrorQuery): Promise<ClientErrorRow[]> {
    let sel = this.db.selectFrom('client_errors').selectAll();
    if (q.userId !== undefined) sel = sel.where('user_id', '=', q.userId);
    const b = q.before;
    if (b) {
      sel = sel.where((eb) =>
        eb.or([
          eb('created_at', '<', b.createdAt),
          eb.and([eb('created_at', '=', b.createdAt), eb('id', '<', b.id)]),
        ]),
      );
    }
    return sel.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  }

  /** Deletes every report older than `cutoff` (epoch ms); returns how many. */
  async deleteOlderThan(cutoff: number): Promise<number> {
    const r = await this.db.deleteFrom('client_errors').where('created_at', '<', cutoff).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Keeps a user's `keep` newest reports and deletes the rest; returns how many were deleted. */
  async trimUser(userId: string, keep: number): Promise<number> {
    // The newest report that goes: one index step past the ones kept.
    const edge = await this.db
      .selectFrom('client_errors')
      .select(['created_at', 'id'])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (!edge) return 0;
    const r = await this.db
      .deleteFrom('client_errors')
      .where('user_id', '=', userId)
      .where((eb) =>
        eb.or([
          eb('created_at', '<', edge.created_at),
          eb.and([eb('created_at', '=', edge.created_at), eb('id', '<=', edge.id)]),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
