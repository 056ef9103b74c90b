/**
 * Server frames as the client sees them (protocol v1, docs/protocol.md). Kept free of server imports
 * so the SDK bundles alone for browsers.
 */
export interface LogEventFrame {
  type: string;
  roomId: string;
  seq: number;
  createdAt: string;
  actorId: string | null;
  [field: string]: unknown;
}

export interface MessageData {
  messageId: string;
  roomId: string;
  seq: number;
  authorId: string;
  authorName: string;
  content: string;
  type: string;
  timestamp: string;
  replyTo: string | null;
  clientMsgId: string | null;
  isDeleted: boolean;
  isEdited: boolean;
  isPinned: boolean;
  reactions: Record<string, string[]>;
  [field: string]: unknown;
}

export interface ServerFrames {
  ready: {
    type: 'ready';
    protocol: number;
    sessionId: string;
    userId: string;
    username: string;
    heartbeatMs: number;
  };
  resumed: {
    type: 'resumed';
    id?: string | number;
    rooms: { roomId: string; fromSeq: number; toSeq: number; lastSeq: number; complete: boolean }[];
    syncToken: string;
  };
  room_behind: { type: 'room_behind'; roomId: string; afterSeq: number; lastSeq: number };
  ack: { type: 'ack'; id?: string | number; for?: string; [field: string]: unknown };
  error: {
    type: 'error';
    id?: string | number;
    code: string;
    message: string;
    details?: Record<string, unknown>;
  };
  pong: { type: 'pong'; id?: string | number };
  new_message: LogEventFrame & { message: MessageData };
  message_updated: LogEventFrame & { message: MessageData; change: 'edit' | 'pin' | 'unpin' };
  message_deleted: LogEventFrame & { messageId: string; deletedBy: string };
  reaction_updated: LogEventFrame & {
    messageId: string;
    emoji: string;
    userId: string;
    action: 'added' | 'removed';
    users: string[];
  };
  user_joined: LogEventFrame & {
    user: { userId: string; username: string; displayName: string };
    role: string;
    invitedBy?: string;
  };
  user_left: LogEventFrame & { userId: string; reason: 'left' | 'kicked' | 'banned'; by?: string };
  member_updated: LogEventFrame & { userId: string; role: string; by: string };
  member_muted: LogEventFrame & { userId: string; mutedUntil: string | null; by: string; reason?: string };
  room_created: LogEventFrame & { room: Record<string, unknown> };
  room_updated: LogEventFrame & { room: Record<string, unknown> };
  /** A poll's votes changed or it was closed: the whole tally as it is now (never `myVotes`). */
  poll_updated: LogEventFrame & { messageId: string; poll: PollData };
  typing_indicator: {
    type: 'typing_indicator';
    roomId: string;
    userId: string;
    username: string;
    isTyping: boolean;
    expiresInMs?: number;
  };
  presence_update: {
    type: 'presence_update';
    userId: string;
    status: string;
    customStatus: string | null;
    lastSeen: string | null;
  };
  receipt_update: {
    type: 'receipt_update';
    roomId: string;
    userId: string;
    status: 'read' | 'delivered';
    readSeq: number;
    deliveredSeq: number;
    at: string;
  };
  /** A system announcement, pushed to every connection (also stored in the system room's log). */
  announcement: {
    type: 'announcement';
    announcement: {
      messageId: string;
      roomId: string;
      seq: number;
      title?: string;
      content: string;
      level: 'info' | 'warning' | 'critical';
      createdAt: string;
      authorId: string;
    };
  };
  /**
   * The AI assistant's answer while it is written (ephemeral). `index` counts frames per run; `reset`
   * drops the text so far; the last frame has `done` and `status` (`messageId` once answered).
   */
  ai_stream: {
    type: 'ai_stream';
    roomId: string;
    streamId: string;
    replyTo: string;
    index: number;
    delta: string;
    reset?: true;
    done?: true;
    status?: 'answered' | 'stopped' | 'failed';
    messageId?: string;
  };
  /** An agent job at work (ephemeral); its outcome is the `agent_result` message replying to `threadId`. */
  agent_progress: {
    type: 'agent_progress';
    roomId: string;
    jobId: string;
    threadId: string;
    projectId: string;
    step: AgentStep;
    /** Output lines of the step (newline-separated); with `finished`, the final state. */
    text?: string;
    at: string;
  };
}

/** The steps of an agent job, in order (`agent_progress.step`). */
export type AgentStep =
  | 'queued'
  | 'started'
  | 'workspace'
  | 'agent'
  | 'build'
  | 'publish'
  | 'commit'
  | 'push'
  | 'finished';

export interface PollData {
  question: string;
  /** `voters` is left out in anonymous polls. */
  options: { id: string; text: string; votes: number; voters?: string[] }[];
  totalVoters: number;
  closed: boolean;
  multipleChoice: boolean;
  anonymous: boolean;
}

export type ServerFrameType = keyof ServerFrames;

/**
 * A log event: a frame that carries its `(roomId, seq)` in the room log. Acks also name a roomId and
 * seq (of the message they confirm) and are not log events; ephemeral frames carry no `seq`.
 */
export function isLogEvent(f: { type: string; seq?: unknown; roomId?: unknown }): f is LogEventFrame {
  return f.type !== 'ack' && f.type !== 'error' && typeof f.seq === 'number' && typeof f.roomId === 'string';
}
