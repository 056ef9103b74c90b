import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

export interface JoinRequestRow {
  room_id: string;
  user_id: string;
  message: string | null;
  created_at: number;
}

export interface JoinRequestWithUser extends JoinRequestRow {
  username: string;
  display_name: string;
  avatar: string | null;
}

/** Pending requests to join rooms that require approval; one per user and room. */
export class JoinRequestsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  find(roomId: string, userId: string): Promise<JoinRequestRow | undefined> {
    return this.db
      .selectFrom('join_requests')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /** Records a request; an existing one is kept as it is. */
  async insert(row: JoinRequestRow): Promise<void> {
    await this.db
      .insertInto('join_requests')
      .values(row)
      .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
      .execute();
  }

  /** Oldest first, with the requester's profile. */
  list(roomId: string): Promise<JoinRequestWithUser[]> {
    return this.db
      .selectFrom('join_requests as j')
      .innerJoin('users as u', 'u.id', 'j.user_id')
      .select([
        'j.room_id',
        'j.user_id',
        'j.message',
        'j.created_at',
        'u.username',
        'u.display_name',
        'u.avatar',
      ])
      .where('j.room_id', '=', roomId)
      .orderBy('j.created_at')
      .orderBy('j.user_id')
      .execute();
  }

  /** True when a request was deleted. */
  async delete(roomId: string, userId: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('join_requests')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
