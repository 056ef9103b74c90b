import type { RoomEvent } from '../events/room-event.js';
import type { Bus, BusListener } from './bus.js';

/** Single-node bus: delivers to listeners in this process, synchronously and in publish order. */
export class MemoryBus implements Bus {
  private readonly listeners = new Set<BusListener>();

  publish(events: readonly RoomEvent[]): void {
    for (const e of events) {
      for (const l of this.listeners) l(e);
    }
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
