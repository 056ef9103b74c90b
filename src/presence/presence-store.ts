export const PRESENCE_STATUSES = ['online', 'away', 'busy', 'offline'] as const;
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];

export interface PresenceInfo {
  userId: string;
  /** `offline` when no connection is alive; otherwise the status the user chose (default online). */
  status: PresenceStatus;
  customStatus: string | null;
  /** Epoch ms of the last connection's end (or of now while connected); null if never seen. */
  lastSeen: number | null;
  connections: number;
}

/**
 * Who is connected. The embedded store lives in memory; the scale-out one keeps per-connection keys
 * with TTLs in Redis, so a crashed node's connections expire on their own.
 */
export interface PresenceStore {
  /** Registers a connection; `first` is true when the user had none. */
  connect(userId: string, connId: string, now: number): Promise<{ first: boolean }>;
  /** Keeps a connection alive (TTL-based stores). */
  heartbeat(userId: string, connId: string, now: number): Promise<void>;
  /** Removes a connection; `last` is true when the user has none left. */
  disconnect(userId: string, connId: string, now: number): Promise<{ last: boolean }>;
  /** Chosen status while connected ('offline' here means invisible is not supported: use away/busy). */
  setStatus(
    userId: string,
    status: Exclude<PresenceStatus, 'offline'>,
    customStatus: string | null,
  ): Promise<void>;
  get(userIds: readonly string[]): Promise<PresenceInfo[]>;
  /**
   * Users whose connections all expired without a disconnect (a crashed node), each returned to
   * exactly one caller across the cluster so one node announces them offline. In-process stores,
   * which see every connection close, return none.
   */
  sweep(now: number): Promise<string[]>;
  /** Users with at least one live connection, ordered by user id. */
  online(limit: number, offset: number): Promise<{ userIds: string[]; total: number }>;
}
