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
 *
 * A node tells the bus which rooms and users it has local connections for (`watch*`); a scale-out
 * bus subscribes only to those channels, so a node does not receive every message of the cluster.
 * A `user_joined` event also reaches the joining user's channel, so a node learns of a room its
 * user just joined even before it watches that room.
 */
export interface Bus {
  publish(events: readonly RoomEvent[]): void;
  publishEphemeral(to: Audience, frame: Record<string, unknown>): void;
  /** Returns an unsubscribe function. */
  subscribe(listener: BusListener): () => void;
  /** Resolves once messages for the room reach this node (immediately, or void, in process). */
  watchRoom(roomId: string): Promise<void> | void;
  unwatchRoom(roomId: string): void;
  watchUser(userId: string): Promise<void> | void;
  unwatchUser(userId: string): void;
  /**
   * Called after the bus lost and regained its connection: messages may have been dropped meanwhile,
   * so listeners re-check the store for what they missed. Returns an unsubscribe function.
   */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}
