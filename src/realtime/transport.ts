/**
 * What a session needs from a connection, whatever carries it (WebSocket, SSE, a long-poll
 * response). Kept minimal so the core never sees `ws` or HTTP.
 */
export interface Transport {
  /** Sends one serialized frame; `event` tells cursor-keeping transports (SSE) where it sits in the log. */
  send(data: string, event?: { roomId: string; seq: number }): void;
  close(code: number, reason: string): void;
  /** Bytes accepted but not yet written to the network. */
  bufferedAmount(): number;
  /**
   * Resolves once the queued bytes have been written out, or the connection is gone. Replays wait on
   * it, so a large backlog goes out at the client's pace instead of overfilling the buffer (4008).
   */
  drained?(): Promise<void>;
}
