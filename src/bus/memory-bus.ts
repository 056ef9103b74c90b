import type { RoomEvent } from '../events/room-event.js';
import type { Audience, Bus, BusListener, BusMessage } from './bus.js';

/** Single-node bus: delivers to listeners in this process, synchronously and in publish order. */
export class MemoryBus implements Bus {
  private readonly listeners = new Set<BusListener>();

  publish(events: readonly RoomEvent[]): void {
    for (const event of events) this.emit({ kind: 'event', event });
  }

  publishEphemeral(to: Audience, frame: Record<string, unknown>): void {
    this.emit({ kind: 'ephemeral', to, frame });
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // In one process every message reaches every listener; interest and reconnects do not apply.
  watchRoom(): void {}
  unwatchRoom(): void {}
  watchUser(): void {}
  unwatchUser(): void {}
  onReconnect(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private emit(m: BusMessage): void {
    for (const l of this.listeners) {
      try {
        l(m);
      } catch {
        // One faulty listener must not stop delivery to the others; the log repairs what it missed.
      }
    }
  }
}
