import type { RoomEvent } from '../events/room-event.js';

export type BusListener = (event: RoomEvent) => void;

/**
 * Cross-node fan-out of committed room events. Publish happens after commit; delivery is
 * best effort because the room log (seq) lets receivers repair any gap from the store.
 */
export interface Bus {
  publish(events: readonly RoomEvent[]): void;
  /** Returns an unsubscribe function. */
  subscribe(listener: BusListener): () => void;
  close(): Promise<void>;
}
