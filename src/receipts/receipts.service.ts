import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { loadRoom, requireMember } from '../rooms/room-access.js';
import type { Store } from '../store/store.js';

export interface ReceiptView {
  roomId: string;
  userId: string;
  readSeq: number;
  deliveredSeq: number;
  unreadCount: number;
}

export interface ReceiptsOptions {
  /** Receipts are pushed live in rooms up to this many members; larger rooms read them from the members list. */
  fanoutMaxMembers: number;
}

/**
 * Read and delivery positions per member (`members.read_seq`, `members.delivered_seq`): a message is
 * `sent` once committed, `delivered` once a recipient's position passes its seq, `read` likewise.
 * No per-recipient rows per message; unread = room.message_count - member.read_count.
 */
export class ReceiptsService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly opts: ReceiptsOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Moves the caller's read position forward to `seq` (clamped to the room's head). */
  async markRead(p: Principal, roomId: string, seq: number): Promise<ReceiptView> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    const m = requireMember(a);
    const target = Math.min(seq, a.room.last_seq);
    let moved = false;
    if (target > m.read_seq) {
      const readCount = await this.store.repos.messages.msgNoAtSeq(roomId, target);
      moved = await this.store.repos.rooms.advanceRead(roomId, p.userId, target, readCount);
    }
    return this.finish(p, roomId, moved, 'read');
  }

  /** The caller's client has received the room up to `seq`. */
  async markDelivered(p: Principal, roomId: string, seq: number): Promise<ReceiptView> {
    const a = await loadRoom(this.store.repos, p, roomId, this.now());
    const m = requireMember(a);
    const target = Math.min(seq, a.room.last_seq);
    const moved =
      target > m.delivered_seq && (await this.store.repos.rooms.advanceDelivered(roomId, p.userId, target));
    return this.finish(p, roomId, moved, 'delivered');
  }

  private async finish(
    p: Principal,
    roomId: string,
    moved: boolean,
    status: 'read' | 'delivered',
  ): Promise<ReceiptView> {
    const [member, room] = await Promise.all([
      this.store.repos.rooms.getMember(roomId, p.userId),
      this.store.repos.rooms.findById(roomId),
    ]);
    const view: ReceiptView = {
      roomId,
      userId: p.userId,
      readSeq: member?.read_seq ?? 0,
      deliveredSeq: member?.delivered_seq ?? 0,
      unreadCount: Math.max(0, (room?.message_count ?? 0) - (member?.read_count ?? 0)),
    };
    if (moved && room && room.member_count <= this.opts.fanoutMaxMembers) {
      const { unreadCount: _private, ...shared } = view;
      this.bus.publishEphemeral(
        { roomId },
        { type: 'receipt_update', status, ...shared, at: new Date(this.now()).toISOString() },
      );
    }
    return view;
  }
}
