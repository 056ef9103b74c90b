import {
  type AgentStep,
  type ConnectionState,
  type CursorStore,
  type LogEventFrame,
  type ServerFrames,
  SwitchboardClient,
} from '../../../src/client/index.js';
import { ApiError, type Session } from '../api/session';
import type { AgentResult, Member, Message, Room, User } from '../api/types';
import { NetworkWatch } from '../net/network-watch';
import { RoomMessages } from './room-messages';

export interface RoomEntry extends Room {
  /** The other member of a direct room. */
  peer?: { userId: string; username: string; displayName: string };
}

/** A message the user sent that the server has not confirmed yet (or refused). */
export interface Outgoing {
  clientMsgId: string;
  roomId: string;
  content: string;
  attachmentNames: string[];
  state: 'sending' | 'failed';
  error?: string;
  messageId?: string;
}

/** An AI answer being generated (`ai_stream` frames), shown until its `ai_response` message lands. */
export interface AiStream {
  streamId: string;
  roomId: string;
  replyTo: string | null;
  text: string;
  done: boolean;
  /** The committed answer, named by the last frame. */
  messageId?: string;
}

/** An agent job at work (`agent_progress` frames), shown as a card until its `agent_result` message lands. */
export interface AgentJob {
  jobId: string;
  roomId: string;
  threadId: string;
  projectId: string;
  /** The instruction (the `queued` step's text; cut at 200 characters by the server). */
  instruction?: string;
  /** Steps of the current run, in order; the last one is under way. */
  steps: AgentStep[];
  /** The newest output lines (at most MAX_JOB_LINES). */
  lines: string[];
  /** With the `finished` step: `succeeded`, `failed`, `interrupted` or `cancelled`. */
  outcome?: string;
  /** Its result message has arrived (or never will): the card is gone, the lines stay for the result. */
  reported: boolean;
}

export interface Notice {
  id: number;
  text: string;
}

/** How long a typing indicator lasts without a refresh, in ms (the server's TYPING_TIMEOUT default). */
const TYPING_FALLBACK_MS = 3000;
/** Pages of the room list read at start (100 rooms each). */
const MAX_ROOM_PAGES = 5;
/** Wait before reading the room list again when the server could not be reached, in ms. */
const START_RETRY_MS = 3000;
/** Agent progress re-renders the page at most this often, in ms, however many jobs are running. */
const PROGRESS_RENDER_MS = 250;
/** Output lines kept per agent job. */
const MAX_JOB_LINES = 40;
/** Agent jobs remembered (the oldest reported ones are forgotten first). */
const MAX_JOBS = 100;
/** A finished job whose result message never shows up stops being shown after this, in ms. */
const JOB_REPORT_WAIT_MS = 60_000;

/** Cursors seeded from the room list: the connection replays only what happened after the list was read. */
class SeededCursors implements CursorStore {
  constructor(private cursors: Record<string, number>) {}
  load() {
    return { ...this.cursors };
  }
  save(cursors: Record<string, number>) {
    this.cursors = { ...cursors };
  }
}

/**
 * Everything the page shows, kept current from REST reads and the SDK's live events. Components read
 * its fields and re-render on `subscribe`; actions live in ChatActions (chat-actions.ts).
 */
export class ChatStore {
  conn: ConnectionState = 'connecting';
  readonly rooms = new Map<string, RoomEntry>();
  readonly messages = new Map<string, RoomMessages>();
  readonly members = new Map<string, Map<string, Member>>();
  readonly presence = new Map<string, string>();
  readonly typing = new Map<string, Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>>();
  readonly streams = new Map<string, AiStream>();
  readonly jobs = new Map<string, AgentJob>();
  readonly outgoing = new Map<string, Outgoing>();
  notices: Notice[] = [];
  currentRoomId: string | undefined;
  /** The room list has been read (until then, a room not in it may still be one of yours). */
  roomsLoaded = false;
  client!: SwitchboardClient;
  private readonly listeners = new Set<() => void>();
  private readonly watch = new NetworkWatch();
  private pendingNotify = false;
  private progressTimer: ReturnType<typeof setTimeout> | undefined;
  private nextNotice = 1;
  private stopped = false;

  constructor(readonly session: Session) {}

  get me(): User {
    return this.session.user;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Schedules one re-render for any number of changes in the same task. */
  changed(): void {
    if (this.pendingNotify) return;
    this.pendingNotify = true;
    queueMicrotask(() => {
      this.pendingNotify = false;
      for (const l of this.listeners) l();
    });
  }

  /** For frequent updates (agent progress): at most one re-render per PROGRESS_RENDER_MS. */
  private changedSoon(): void {
    if (this.progressTimer) return;
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      this.changed();
    }, PROGRESS_RENDER_MS);
  }

  notify(text: string): void {
    const id = this.nextNotice++;
    this.notices = [...this.notices, { id, text }].slice(-4);
    setTimeout(() => this.dismiss(id), 8000);
    this.changed();
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
    this.changed();
  }

  roomMessages(roomId: string): RoomMessages {
    let r = this.messages.get(roomId);
    if (!r) {
      r = new RoomMessages();
      this.messages.set(roomId, r);
    }
    return r;
  }

  /** Reads the rooms (again and again while the server cannot be reached), then connects. */
  async start(): Promise<void> {
    let rooms: Room[] | undefined;
    while (!rooms && !this.stopped) {
      try {
        rooms = await this.readRooms();
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'NETWORK') throw err;
        await new Promise((r) => setTimeout(r, START_RETRY_MS));
      }
    }
    if (!rooms || this.stopped) return;
    const cursors: Record<string, number> = {};
    for (const room of rooms) {
      this.rooms.set(room.roomId, room);
      cursors[room.roomId] = room.lastSeq;
    }
    this.roomsLoaded = true;
    this.client = new SwitchboardClient({
      url: this.session.base,
      token: () => this.session.accessToken(),
      webSocket: this.watch.factory,
      cursors: new SeededCursors(cursors),
      backoffMs: { initial: 250, max: 5000 },
    });
    this.wire(this.client);
    this.changed();
    void this.client.connect().catch(() => undefined);
    void this.describeDirectRooms(rooms);
  }

  private async readRooms(): Promise<Room[]> {
    const rooms: Room[] = [];
    for (let page = 0; page < MAX_ROOM_PAGES; page++) {
      const r = await this.session.api<{ rooms: Room[]; pagination: { hasMore: boolean } }>(
        'GET',
        `/v1/chat/rooms?joined=true&limit=100&offset=${page * 100}`,
      );
      rooms.push(...r.rooms);
      if (!r.pagination.hasMore) break;
    }
    return rooms;
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
    this.watch.dispose();
    clearTimeout(this.progressTimer);
    for (const t of this.typing.values()) for (const { timer } of t.values()) clearTimeout(timer);
  }

  private wire(c: SwitchboardClient): void {
    c.on('state', (s) => {
      this.conn = s;
      this.changed();
    });
    c.on('event', (e) => this.onEvent(e));
    c.on('typing_indicator', (t) => this.onTyping(t));
    c.on('presence_update', (p) => {
      this.presence.set(p.userId, p.status);
      this.changed();
    });
    c.on('receipt_update', (r) => this.onReceipt(r));
    c.on('announcement', (a) =>
      this.notify(`Announcement: ${a.announcement.title ?? a.announcement.content}`),
    );
    c.on('error', (e) => {
      if (e.id === undefined && e.code !== 'UNAUTHORIZED') this.notify(`${e.code}: ${e.message}`);
    });
    c.on('ai_stream', (f) => this.onAiStream(f));
    c.on('agent_progress', (f) => this.onAgentProgress(f));
  }

  private onEvent(e: LogEventFrame): void {
    const room = this.rooms.get(e.roomId);
    if (!room && e.type !== 'user_left') void this.discoverRoom(e.roomId);
    const msgs = this.roomMessages(e.roomId);
    msgs.apply(e);
    switch (e.type) {
      case 'new_message':
        this.onNewMessage(e as ServerFrames['new_message'], room);
        break;
      case 'user_joined':
      case 'member_updated':
      case 'user_left':
        this.onMembership(e);
        break;
      case 'room_updated':
        if (room) this.rooms.set(e.roomId, { ...room, ...(e.room as Partial<Room>) });
        break;
    }
    if (room) room.lastSeq = Math.max(room.lastSeq, e.seq);
    this.changed();
  }

  private onNewMessage(e: ServerFrames['new_message'], room: RoomEntry | undefined): void {
    const m = e.message as unknown as Message;
    for (const o of this.outgoing.values()) {
      if (o.clientMsgId === m.clientMsgId || o.messageId === m.messageId) this.outgoing.delete(o.clientMsgId);
    }
    if (m.type === 'ai_response') {
      for (const s of this.streams.values()) {
        const same = s.messageId === m.messageId || (s.done && s.messageId === undefined);
        if (s.roomId === m.roomId && (same || s.replyTo === m.replyTo)) this.streams.delete(s.streamId);
      }
    }
    if (m.type === 'agent_result') {
      const jobId = (m.metadata?.agentResult as Partial<AgentResult> | undefined)?.jobId;
      if (typeof jobId === 'string') this.jobReported(jobId);
    }
    this.clearTyping(m.roomId, m.authorId);
    if (!room) return;
    room.lastActivity = m.timestamp;
    if (m.authorId === this.me.userId) {
      room.readSeq = Math.max(room.readSeq ?? 0, m.seq);
      room.unreadCount = 0;
    } else {
      room.unreadCount = (room.unreadCount ?? 0) + 1;
    }
  }

  private onMembership(e: LogEventFrame): void {
    const userId = (e.type === 'user_joined' ? (e.user as { userId: string }).userId : e.userId) as string;
    if (e.type === 'user_left' && userId === this.me.userId) {
      this.rooms.delete(e.roomId);
      this.members.delete(e.roomId);
      return;
    }
    const members = this.members.get(e.roomId);
    if (!members) return;
    if (e.type === 'user_left') members.delete(userId);
    else if (e.type === 'member_updated') {
      const m = members.get(userId);
      if (m) members.set(userId, { ...m, role: e.role as Member['role'] });
    } else {
      const u = e.user as { userId: string; username: string; displayName: string };
      members.set(userId, { ...u, role: e.role as Member['role'], readSeq: e.seq, deliveredSeq: e.seq });
    }
    const room = this.rooms.get(e.roomId);
    if (room) room.memberCount = members.size;
  }

  private onTyping(t: ServerFrames['typing_indicator']): void {
    if (t.userId === this.me.userId) return;
    this.clearTyping(t.roomId, t.userId);
    if (t.isTyping) {
      let room = this.typing.get(t.roomId);
      if (!room) {
        room = new Map();
        this.typing.set(t.roomId, room);
      }
      const timer = setTimeout(
        () => this.clearTyping(t.roomId, t.userId),
        t.expiresInMs ?? TYPING_FALLBACK_MS,
      );
      room.set(t.userId, { name: t.username, timer });
    }
    this.changed();
  }

  private clearTyping(roomId: string, userId: string): void {
    const t = this.typing.get(roomId)?.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    this.typing.get(roomId)!.delete(userId);
    this.changed();
  }

  private onReceipt(r: ServerFrames['receipt_update']): void {
    const members = this.members.get(r.roomId);
    const m = members?.get(r.userId);
    if (members && m) {
      members.set(r.userId, {
        ...m,
        readSeq: Math.max(m.readSeq, r.readSeq),
        deliveredSeq: Math.max(m.deliveredSeq, r.deliveredSeq),
      });
    }
    if (r.userId === this.me.userId) {
      const room = this.rooms.get(r.roomId);
      if (room && r.readSeq > (room.readSeq ?? 0)) room.readSeq = r.readSeq;
    }
    this.changed();
  }

  /**
   * Lenient about the frame's shape: `delta` (the next piece) or `text` (all so far); `reset` drops
   * what was shown; the last frame has `done`, a `status` and, once answered, the `messageId` of the
   * committed `ai_response` that replaces the live text.
   */
  private onAiStream(f: Record<string, unknown>): void {
    const roomId = typeof f.roomId === 'string' ? f.roomId : undefined;
    if (!roomId) return;
    const streamId = String(f.streamId ?? f.replyTo ?? roomId);
    const s = this.streams.get(streamId) ?? {
      streamId,
      roomId,
      replyTo: typeof f.replyTo === 'string' ? f.replyTo : null,
      text: '',
      done: false,
    };
    const next: AiStream = { ...s };
    if (f.reset === true) next.text = '';
    if (typeof f.text === 'string') next.text = f.text;
    else if (typeof f.delta === 'string') next.text += f.delta;
    if (typeof f.messageId === 'string') next.messageId = f.messageId;
    if (f.done === true) next.done = true;
    const answered = next.messageId !== undefined && this.messages.get(roomId)?.has(next.messageId);
    if (next.done && (answered || f.status === 'stopped' || f.status === 'failed')) {
      this.streams.delete(streamId);
      if (f.status === 'failed') this.notify('The assistant could not answer.');
    } else {
      this.streams.set(streamId, next);
      // The committed answer normally lands at once; never leave a finished stream behind.
      if (next.done)
        setTimeout(() => {
          if (this.streams.get(streamId) === next) this.streams.delete(streamId);
          this.changed();
        }, 60_000);
    }
    this.changed();
  }

  /**
   * A job's progress: steps in order (a step seen before starts the list again from there: the job
   * was taken over or retried), the newest output lines, and the outcome with `finished`. Frames of
   * a job already reported are late and ignored.
   */
  private onAgentProgress(f: ServerFrames['agent_progress']): void {
    const known = this.jobs.get(f.jobId);
    if (known?.reported) return;
    const job: AgentJob = known ?? {
      jobId: f.jobId,
      roomId: f.roomId,
      threadId: f.threadId,
      projectId: f.projectId,
      steps: [],
      lines: [],
      reported: false,
    };
    const at = job.steps.indexOf(f.step);
    if (at < 0) job.steps = [...job.steps, f.step];
    else if (at < job.steps.length - 1) job.steps = job.steps.slice(0, at + 1);
    if (f.step === 'queued' && f.text) job.instruction = f.text;
    else if (f.step === 'finished') job.outcome = f.text ?? 'finished';
    else if (f.text) job.lines = [...job.lines, ...f.text.split('\n')].slice(-MAX_JOB_LINES);
    if (!known) {
      this.jobs.set(f.jobId, job);
      this.forgetOldJobs();
    }
    if (f.step === 'finished') {
      setTimeout(() => {
        if (!job.reported) this.jobReported(job.jobId);
      }, JOB_REPORT_WAIT_MS);
    }
    this.changedSoon();
  }

  /** The job's result is in (or will not come): no more progress card. */
  private jobReported(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job) job.reported = true;
    // Remember reported jobs seen only by their result too, so late progress frames stay ignored.
    else
      this.jobs.set(jobId, {
        jobId,
        roomId: '',
        threadId: '',
        projectId: '',
        steps: [],
        lines: [],
        reported: true,
      });
    this.forgetOldJobs();
    this.changed();
  }

  private forgetOldJobs(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= MAX_JOBS) break;
      if (job.reported) this.jobs.delete(id);
    }
  }

  /** A room the list did not have (joined or added elsewhere, or a new direct room). */
  private readonly discovering = new Set<string>();
  private async discoverRoom(roomId: string): Promise<void> {
    if (this.discovering.has(roomId)) return;
    this.discovering.add(roomId);
    try {
      const room = await this.session.api<Room>('GET', `/v1/chat/rooms/${encodeURIComponent(roomId)}`);
      if (room.isJoined) {
        this.rooms.set(roomId, room);
        await this.describeDirectRooms([room]);
        this.changed();
      }
    } catch {
      // not visible to us (left meanwhile): nothing to show
    } finally {
      this.discovering.delete(roomId);
    }
  }

  /** Names direct rooms after the other member, and asks for the presence of those people. */
  async describeDirectRooms(rooms: Room[]): Promise<void> {
    const direct = rooms.filter((r) => r.type === 'direct');
    await Promise.all(direct.map((r) => this.loadMembers(r.roomId).catch(() => undefined)));
    for (const r of direct) {
      const peer = [...(this.members.get(r.roomId)?.values() ?? [])].find((m) => m.userId !== this.me.userId);
      const entry = this.rooms.get(r.roomId);
      if (peer && entry) entry.peer = peer;
    }
    await this.loadPresence(direct.map((r) => this.rooms.get(r.roomId)?.peer?.userId));
    this.changed();
  }

  async loadMembers(roomId: string): Promise<void> {
    const r = await this.session.api<{ members: Member[] }>(
      'GET',
      `/v1/chat/rooms/${encodeURIComponent(roomId)}/members?limit=100`,
    );
    this.members.set(roomId, new Map(r.members.map((m) => [m.userId, m])));
    this.changed();
  }

  async loadPresence(userIds: (string | undefined)[]): Promise<void> {
    const ids = [...new Set(userIds.filter((u): u is string => !!u))].slice(0, 200);
    if (ids.length === 0) return;
    const r = await this.session.api<{ users: { userId: string; status: string }[] }>(
      'GET',
      `/v1/presence?userIds=${ids.map(encodeURIComponent).join(',')}`,
    );
    for (const p of r.users) this.presence.set(p.userId, p.status);
    this.changed();
  }
}
