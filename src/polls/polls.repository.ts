import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

export interface PollVoteRow {
  user_id: string;
  option_id: string;
}

/** Votes and closings of polls; the definition is the poll message's metadata. */
export class PollsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  votes(messageId: string): Promise<PollVoteRow[]> {
    return this.db
      .selectFrom('poll_votes')
      .select(['user_id', 'option_id'])
      .where('message_id', '=', messageId)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
  }

  /** Replaces one user's choices in a poll (an empty list retracts them). */
  async setVotes(
    messageId: string,
    roomId: string,
    userId: string,
    optionIds: readonly string[],
    now: number,
  ): Promise<void> {
    await this.db
      .deleteFrom('poll_votes')
      .where('message_id', '=', messageId)
      .where('user_id', '=', userId)
      .execute();
    if (optionIds.length === 0) return;
    await this.db
      .insertInto('poll_votes')
      .values(
        optionIds.map((option_id) => ({
          message_id: messageId,
          user_id: userId,
          option_id,
          room_id: roomId,
          created_at: now,
        })),
      )
      .execute();
  }

  async closedAt(messageId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('poll_closures')
      .select('closed_at')
      .where('message_id', '=', messageId)
      .executeTakeFirst();
    return row ? Number(row.closed_at) : null;
  }

  /** Closes a poll; false when it was already closed. */
  async close(messageId: string, roomId: string, by: string, now: number): Promise<boolean> {
    const r = await this.db
      .insertInto('poll_closures')
      .values({ message_id: messageId, room_id: roomId, closed_by: by, closed_at: now })
      .onConflict((oc) => oc.column('message_id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}
