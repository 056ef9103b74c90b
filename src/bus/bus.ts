import type { RoomEvent } from '../events/room-event.js';

/** Who an ephemeral frame is for. */
export type Audience =
  /** Every member of a room (optionally not one user, e.g. the typist). */
  | { roomId: string; exceptUserId?: string }
  /** Every connection of these users. */
  | { userIds: readonly string[] }
  /** Every connection on every node (system announcements). */
  | { all: true };

/** What travels between nodes: committed room events, and ephemeral frames that are never stored. */
export type BusMessage =
  | { kind: 'event'; event: RoomEvent }
  | { kind: 'ephemeral'; to: Audience; frame: Record<string, unknown> };

export type BusListener = (message: BusMessage) => void;

/**
 * Cross-node fan-out. Publishing happens after commit; delivery is best effort because the room
 * log (seq) lets receivers repair any gap from the store. Ephemeral frames may be lost.
 */
export interface Bus {
  publish(events: readonly RoomEvent[]): void;
  publishEphemeral(to: Audience, frame: Record<string, unknown>): void;
  /** Returns an unsubscribe function. */
  subscribe(listener: BusListener): () => void;
  close(): Promise<void>;
}
