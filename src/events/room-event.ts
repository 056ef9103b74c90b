import type { MessageView } from '../messages/message-model.js';
import type { PollView } from '../polls/poll-model.js';
import type { Role, RoomView } from '../rooms/room-model.js';

/**
 * Logged room events: every state change of a room is one of these, with a dense per-room seq.
 * The body is stored as JSON and sent to clients as `{type, roomId, seq, createdAt, actorId, ...body}`.
 */
export interface RoomEventBodies {
  room_created: { room: RoomView };
  room_updated: { room: RoomView };
  new_message: { message: MessageView };
  /** Edit, pin or unpin; `message` is the message as it is now. */
  message_updated: { message: MessageView; change: 'edit' | 'pin' | 'unpin' };
  message_deleted: { messageId: string; deletedBy: string };
  reaction_updated: {
    messageId: string;
    emoji: string;
    userId: string;
    action: 'added' | 'removed';
    /** Users who now have this reaction. */
    users: string[];
  };
  user_joined: {
    user: { userId: string; username: string; displayName: string };
    role: Role;
    invitedBy?: string;
  };
  user_left: { userId: string; reason: 'left' | 'kicked' | 'banned'; by?: string };
  /** A poll's votes changed or it was closed: the tally as it is now (no `myVotes`). */
  poll_updated: { messageId: string; poll: PollView };
  member_updated: { userId: string; role: Role; by: string };
  /** A timed mute set, or lifted (`mutedUntil: null`). */
  member_muted: { userId: string; mutedUntil: string | null; by: string; reason?: string };
}

export type RoomEventType = keyof RoomEventBodies;

export interface RoomEvent<T extends RoomEventType = RoomEventType> {
  roomId: string;
  seq: number;
  type: T;
  actorId: string | null;
  createdAt: number;
  body: RoomEventBodies[T];
}

/** A not-yet-appended event. */
export interface PendingEvent<T extends RoomEventType = RoomEventType> {
  type: T;
  actorId: string | null;
  body: RoomEventBodies[T];
}

/** An event as clients receive it. */
export interface EventFrame {
  type: RoomEventType;
  roomId: string;
  seq: number;
  createdAt: string;
  actorId: string | null;
  [field: string]: unknown;
}

const frameTexts = new WeakMap<RoomEvent, string>();

/**
 * The serialized wire frame of an event, computed once per event object: a broadcast, and the
 * sessions replaying one shared read (src/realtime/shared-log-reader.ts), all send the same string.
 */
export function eventFrameText(e: RoomEvent): string {
  let text = frameTexts.get(e);
  if (text === undefined) {
    text = JSON.stringify(eventFrame(e));
    frameTexts.set(e, text);
  }
  return text;
}

/** The wire object for an event. */
export function eventFrame(e: RoomEvent): EventFrame {
  return {
    type: e.type,
    roomId: e.roomId,
    seq: e.seq,
    createdAt: new Date(e.createdAt).toISOString(),
    actorId: e.actorId,
    ...e.body,
  };
}
