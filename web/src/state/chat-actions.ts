import type { UploadedAttachment } from '../../../src/client/index.js';
import { ApiError } from '../api/session';
import type { Attachment, Message, Room, SearchResult, User } from '../api/types';
import type { ChatStore, RoomEntry } from './chat-store';

/** Messages per history page. */
const PAGE = 50;
/** Send typing_start at most this often while the user types, in ms (the server re-broadcasts at most once a second). */
const TYPING_EVERY_MS = 2000;
/** Signed attachment URLs are reused for this long, in ms (they live FILE_URL_TTL, minutes). */
const URL_CACHE_MS = 60_000;

const enc = encodeURIComponent;

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err && typeof err === 'object' && 'code' in err && 'message' in err)
    return `${String(err.message)} (${String(err.code)})`;
  return String(err);
}

/** What the user can do: REST calls and SDK requests, with their results folded into the store. */
export class ChatActions {
  private lastTyping = new Map<string, number>();
  private readonly urls = new Map<string, { url: Promise<string>; at: number }>();
  private readonly marking = new Set<string>();

  constructor(private readonly store: ChatStore) {}

  private get api() {
    return this.store.session.api.bind(this.store.session);
  }

  /** Loads the newest page of a room the first time it is opened, and its members. */
  async openRoom(roomId: string): Promise<void> {
    this.store.currentRoomId = roomId;
    const msgs = this.store.roomMessages(roomId);
    this.store.changed();
    const tasks: Promise<unknown>[] = [];
    if (!msgs.loaded) {
      tasks.push(
        this.api<{ messages: Message[]; pagination: { hasMore: boolean } }>(
          'GET',
          `/v1/chat/rooms/${enc(roomId)}/messages?limit=${PAGE}`,
        ).then((r) => {
          msgs.mergePage(r.messages);
          msgs.loaded = true;
          msgs.hasMoreBefore = r.pagination.hasMore;
        }),
      );
    }
    if (!this.store.members.has(roomId)) {
      tasks.push(
        this.store.loadMembers(roomId).then(() => {
          const ids = [...(this.store.members.get(roomId)?.keys() ?? [])];
          return this.store.loadPresence(ids);
        }),
      );
    }
    try {
      await Promise.all(tasks);
    } catch (err) {
      this.store.notify(`Could not load the room: ${errorText(err)}`);
    }
    this.store.changed();
  }

  /** One page further back in a room's history. Resolves with the number of messages added. */
  async loadOlder(roomId: string): Promise<number> {
    const msgs = this.store.roomMessages(roomId);
    if (msgs.loadingOlder || !msgs.hasMoreBefore) return 0;
    const before = msgs.oldestSeq;
    msgs.loadingOlder = true;
    this.store.changed();
    try {
      const r = await this.api<{ messages: Message[]; pagination: { hasMore: boolean } }>(
        'GET',
        `/v1/chat/rooms/${enc(roomId)}/messages?limit=${PAGE}${before !== undefined ? `&before=${before}` : ''}`,
      );
      msgs.hasMoreBefore = r.pagination.hasMore;
      return msgs.mergePage(r.messages);
    } catch (err) {
      this.store.notify(`Could not load older messages: ${errorText(err)}`);
      return 0;
    } finally {
      msgs.loadingOlder = false;
      this.store.changed();
    }
  }

  /** Sends through the SDK's outbox: shown as pending until the server has it, even across a reconnect. */
  send(roomId: string, content: string, opts: { replyTo?: string; attachments?: UploadedAttachment[] } = {}) {
    const clientMsgId = crypto.randomUUID();
    const pending = {
      clientMsgId,
      roomId,
      content,
      attachmentNames: (opts.attachments ?? []).map((a) => a.fileName),
      state: 'sending' as const,
    };
    this.store.outgoing.set(clientMsgId, pending);
    this.lastTyping.delete(roomId);
    this.store.changed();
    this.store.client
      .send(content, {
        roomId,
        clientMsgId,
        ...(opts.replyTo ? { replyTo: opts.replyTo } : {}),
        ...(opts.attachments?.length ? { attachments: opts.attachments.map((a) => a.id) } : {}),
      })
      .then((ack) => {
        if (this.store.roomMessages(roomId).has(ack.messageId)) this.store.outgoing.delete(clientMsgId);
        else this.store.outgoing.set(clientMsgId, { ...pending, messageId: ack.messageId });
      })
      .catch((err) => {
        this.store.outgoing.set(clientMsgId, { ...pending, state: 'failed', error: errorText(err) });
      })
      .finally(() => this.store.changed());
  }

  discard(clientMsgId: string): void {
    this.store.outgoing.delete(clientMsgId);
    this.store.changed();
  }

  private async attempt(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.store.notify(`Could not ${what}: ${errorText(err)}`);
      return false;
    }
  }

  edit(m: Message, content: string) {
    return this.attempt('edit the message', () => this.store.client.edit(m.roomId, m.messageId, content));
  }

  remove(m: Message) {
    return this.attempt('delete the message', () => this.store.client.delete(m.roomId, m.messageId));
  }

  /** Adds the reaction, or takes it back if it is already yours. */
  react(m: Message, emoji: string) {
    const mine = m.reactions[emoji]?.includes(this.store.me.userId) ?? false;
    return this.attempt('react', () =>
      this.store.client.react(m.roomId, m.messageId, emoji, mine ? 'remove' : 'add'),
    );
  }

  pin(m: Message) {
    return this.attempt(m.isPinned ? 'unpin' : 'pin', () =>
      this.store.client.pin(m.roomId, m.messageId, !m.isPinned),
    );
  }

  async pins(roomId: string): Promise<Message[]> {
    const r = await this.api<{ messages: Message[] }>('GET', `/v1/chat/rooms/${enc(roomId)}/pins`);
    return r.messages;
  }

  /** Call on every keystroke: starts (and refreshes) the typing indicator, or stops it when the text is empty. */
  typing(roomId: string, hasText: boolean): void {
    if (this.store.conn !== 'open') return;
    const last = this.lastTyping.get(roomId);
    if (!hasText) {
      if (last !== undefined) {
        this.lastTyping.delete(roomId);
        this.store.client.typing(roomId, false).catch(() => undefined);
      }
      return;
    }
    if (last !== undefined && Date.now() - last < TYPING_EVERY_MS) return;
    this.lastTyping.set(roomId, Date.now());
    this.store.client.typing(roomId, true).catch(() => undefined);
  }

  /** Marks the room read up to the newest event received, when there is something new. */
  markRead(roomId: string): void {
    const room = this.store.rooms.get(roomId);
    if (!room || this.store.conn !== 'open' || this.marking.has(roomId)) return;
    const seq = Math.max(
      this.store.client.position[roomId] ?? 0,
      this.store.messages.get(roomId)?.newestSeq ?? 0,
    );
    if ((room.readSeq ?? 0) >= seq && !room.unreadCount) return;
    this.marking.add(roomId);
    this.store.client
      .markRead(roomId, seq)
      .then((ack) => {
        room.readSeq = Math.max(room.readSeq ?? 0, Number(ack.readSeq));
        room.unreadCount = Number(ack.unreadCount ?? 0);
        this.store.changed();
      })
      .catch(() => undefined)
      .finally(() => this.marking.delete(roomId));
  }

  async createRoom(name: string, type: 'public' | 'private'): Promise<Room> {
    const room = await this.api<Room>('POST', '/v1/chat/rooms', { name, type });
    this.adopt(room);
    return room;
  }

  async joinRoom(roomId: string): Promise<Room> {
    const room = await this.api<Room>('POST', `/v1/chat/rooms/${enc(roomId)}/join`);
    this.adopt(room);
    return room;
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.api('DELETE', `/v1/chat/rooms/${enc(roomId)}/leave`);
    this.store.rooms.delete(roomId);
    this.store.changed();
  }

  async publicRooms(): Promise<Room[]> {
    const r = await this.api<{ rooms: Room[] }>('GET', '/v1/chat/rooms?type=public&limit=50');
    return r.rooms;
  }

  /** Finds a user by exact username and opens (or creates) the direct room with them. */
  async openDirect(username: string): Promise<Room> {
    const wanted = username.trim().replace(/^@/, '').toLowerCase();
    const r = await this.api<{ users: User[] }>('GET', `/v1/users?q=${enc(wanted)}&limit=50`);
    const user = r.users.find((u) => u.username === wanted);
    if (!user) throw new ApiError('USER_NOT_FOUND', `No user named ${wanted}`, 404);
    const room = await this.api<Room>('POST', '/v1/chat/direct', { userId: user.userId });
    this.adopt(room);
    await this.store.describeDirectRooms([room]);
    return room;
  }

  private adopt(room: Room): void {
    const known = this.store.rooms.get(room.roomId);
    this.store.rooms.set(room.roomId, { ...room, ...(known?.peer ? { peer: known.peer } : {}) } as RoomEntry);
    this.store.changed();
  }

  async search(q: string): Promise<SearchResult[]> {
    const r = await this.api<{ results: SearchResult[] }>('GET', `/v1/chat/search?q=${enc(q)}&limit=30`);
    return r.results;
  }

  upload(roomId: string, file: File): Promise<UploadedAttachment> {
    return this.store.client.upload(roomId, file, {
      fileName: file.name || 'file',
      mimeType: file.type || 'application/octet-stream',
    });
  }

  /** A short-lived URL for an attachment, over the socket (SDK) or REST when the socket is down. */
  attachmentUrl(a: Attachment, variant: 'original' | 'thumbnail'): Promise<string> {
    const key = `${a.id}:${variant}`;
    const hit = this.urls.get(key);
    if (hit && Date.now() - hit.at < URL_CACHE_MS) return hit.url;
    const url =
      this.store.conn === 'open'
        ? this.store.client.attachmentUrl(a.id, variant)
        : this.api<{ url: string }>('GET', `/v1/attachments/${enc(a.id)}/url?variant=${variant}`).then((r) =>
            /^https?:/.test(r.url) ? r.url : this.store.session.base + r.url,
          );
    this.urls.set(key, { url, at: Date.now() });
    url.catch(() => this.urls.delete(key));
    return url;
  }
}
