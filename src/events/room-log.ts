import type { Repos } from '../store/store.js';
import type { PendingEvent, RoomEvent } from './room-event.js';

/**
 * Appends events to a room's log inside the caller's transaction: reserves the next seqs on the
 * room row and inserts the events, so state change and log entry commit (or fail) together.
 * `build` receives the first reserved seq, for bodies that must carry their own seq (new messages).
 */
export async function appendToLog(
  repos: Repos,
  roomId: string,
  now: number,
  count: number,
  messageCount: number,
  build: (firstSeq: number, firstMsgNo: number) => PendingEvent[] | Promise<PendingEvent[]>,
): Promise<RoomEvent[]> {
  const { firstSeq, firstMsgNo } = await repos.rooms.reserveSeqs(roomId, count, messageCount, now);
  const pending = await build(firstSeq, firstMsgNo);
  if (pending.length !== count)
    throw new Error(`appendToLog: reserved ${count} seqs, built ${pending.length}`);
  const events = pending.map((p, i) => ({
    roomId,
    seq: firstSeq + i,
    type: p.type,
    actorId: p.actorId,
    createdAt: now,
    body: p.body,
  }));
  await repos.events.insertMany(events);
  return events;
}

/** Appends one event whose body does not depend on its seq. */
export async function appendOne(
  repos: Repos,
  roomId: string,
  now: number,
  event: PendingEvent,
): Promise<RoomEvent> {
  const [e] = await appendToLog(repos, roomId, now, 1, 0, () => [event]);
  return e!;
}
