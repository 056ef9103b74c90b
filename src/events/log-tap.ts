import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { RoomEvent } from './room-event.js';

/**
 * Sees every batch of room events inside the transaction that appends them, so a feature can
 * record follow-up work (an outbox row) that commits or rolls back with the events themselves.
 * Used by the bridges' outbox (src/bridges) and the webhooks' deliveries (src/webhooks).
 */
export interface LogTap {
  /** Cheap and synchronous: false skips `record` entirely (no query on the hot path). */
  active(): boolean;
  /** Runs on `db`, the appending transaction; a throw rolls the events back. */
  record(db: Kysely<Database>, events: readonly RoomEvent[]): Promise<void>;
}
