import type { Kysely } from 'kysely';
import { chunks } from '../shared/collections.js';
import type { Database } from '../store/database.js';
import type { LogTap } from './log-tap.js';
import type { RoomEvent, RoomEventType } from './room-event.js';

/** Rows per multi-row INSERT. */
const INSERT_CHUNK = 500;

export class EventsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    /** Shared with the Store: taps added later are seen here too. */
    private readonly taps: readonly LogTap[] = [],
  ) {}

  async insertMany(events: readonly RoomEvent[]): Promise<void> {
    if (events.length === 0) return;
    // One statement per chunk (a batch may span many rooms).
    for (const chunk of chunks(events, INSERT_CHUNK)) {
      await this.db
        .insertInto('events')
        .values(
          chunk.map((e) => ({
            room_id: e.roomId,
            seq: e.seq,
            type: e.type,
            actor_id: e.actorId,
            payload: JSON.stringify(e.body),
            created_at: e.createdAt,
          })),
        )
        .execute();
    }
    for (const tap of this.taps) if (tap.active()) await tap.record(this.db, events);
  }

  /** Events after `afterSeq`, oldest first, at most `limit`. */
  async after(roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      roomId: r.room_id,
      seq: r.seq,
      type: r.type as RoomEventType,
      actorId: r.actor_id,
      createdAt: r.created_at,
      body: JSON.parse(r.payload),
    }));
  }
}
