import type { Kysely } from 'kysely';
import { AttachmentsRepository } from '../attachments/attachments.repository.js';
import type { RoomSettings } from '../rooms/room-model.js';
import { parseJson } from '../shared/json.js';
import type { Database } from '../store/database.js';
import type { Store } from '../store/store.js';

const DAY_MS = 86_400_000;
/** Log events that carry message content; other events (membership, settings) are kept. */
const MESSAGE_EVENT_TYPES = ['new_message', 'message_updated', 'message_deleted', 'reaction_updated'];

export interface RetentionOptions {
  /** Rows deleted per transaction. */
  batchSize?: number;
  /** Removes the files of deleted messages and of uploads never sent (AttachmentsService). */
  files?: { purgeDeleted(): Promise<number>; sweepAbandoned(): Promise<number> };
}

export interface RetentionResult {
  rooms: number;
  messages: number;
  events: number;
  /** Attachment files removed (expired messages' and abandoned uploads'). */
  files: number;
}

/**
 * Enforces `settings.messageRetention` (days; 0 keeps forever): messages created before the cutoff
 * are hard-deleted with their reactions and attachment files, and so are the room's message-bearing log events created
 * before it. Work goes in bounded batches, each its own transaction. Deletes are idempotent, so every
 * node of a cluster may run it. Counters (`rooms.message_count`, `members.read_count`) are monotonic
 * and left alone, so unread counts stay right; replay already skips pruned seqs.
 */
export class RetentionService {
  private readonly batchSize: number;
  private readonly files: RetentionOptions['files'];

  constructor(
    private readonly store: Store,
    opts: RetentionOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.files = opts.files;
  }

  async run(now: number = Date.now()): Promise<RetentionResult> {
    const result: RetentionResult = { rooms: 0, messages: 0, events: 0, files: 0 };
    let after = '';
    for (;;) {
      const rooms = await this.store.db
        .selectFrom('rooms')
        .select(['id', 'settings'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(1000)
        .execute();
      for (const room of rooms) {
        const days = parseJson<Partial<RoomSettings>>(room.settings, {}).messageRetention ?? 0;
        if (!Number.isFinite(days) || days <= 0) continue;
        const cutoff = now - days * DAY_MS;
        result.rooms++;
        result.messages += await this.pruneMessages(room.id, cutoff, now);
        result.events += await this.pruneEvents(room.id, cutoff);
      }
      if (rooms.length < 1000) break;
      after = rooms.at(-1)!.id;
    }
    // Files after their rows are marked: a failure leaves them marked for the next run.
    if (this.files) result.files = await this.files.sweepAbandoned();
    return result;
  }

  private async pruneMessages(roomId: string, cutoff: number, now: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.db.transaction().execute(async (trx: Kysely<Database>) => {
        const ids = (
          await trx
            .selectFrom('messages')
            .select('id')
            .where('room_id', '=', roomId)
            .where('created_at', '<', cutoff)
            .orderBy('created_at')
            .limit(this.batchSize)
            .execute()
        ).map((m) => m.id);
        if (ids.length === 0) return 0;
        await trx.deleteFrom('reactions').where('message_id', 'in', ids).execute();
        await new AttachmentsRepository(trx).markDeletedForMessages(ids, now);
        await trx.deleteFrom('messages').where('id', 'in', ids).execute();
        return ids.length;
      });
      total += n;
      if (n < this.batchSize) return total;
    }
  }

  private async pruneEvents(roomId: string, cutoff: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.db.transaction().execute(async (trx: Kysely<Database>) => {
        const seqs = (
          await trx
            .selectFrom('events')
            .select('seq')
            .where('room_id', '=', roomId)
            .where('created_at', '<', cutoff)
            .where('type', 'in', MESSAGE_EVENT_TYPES)
            .orderBy('seq')
            .limit(this.batchSize)
            .execute()
        ).map((e) => e.seq);
        if (seqs.length === 0) return 0;
        await trx.deleteFrom('events').where('room_id', '=', roomId).where('seq', 'in', seqs).execute();
        return seqs.length;
      });
      total += n;
      if (n < this.batchSize) return total;
    }
  }
}
