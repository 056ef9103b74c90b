import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import { iso } from '../shared/json.js';
import type { Store } from '../store/store.js';
import type { UsersService } from '../users/users.service.js';
import type { BridgeService } from './bridge.service.js';
import type { Platform } from './bridge-model.js';
import type { BridgesRepository, ConversationRow } from './bridges.repository.js';

export interface ConversationView {
  conversationId: string;
  platform: Platform;
  externalId: string;
  roomId: string;
  title: string;
  apiKeyId: string | null;
  sessionStartedAt: string;
  createdAt: string;
}

export interface PlatformStatus {
  platform: Platform;
  configured: boolean;
  /** Inbound path(s) on: webhook, interactions, gateway. */
  inbound: string[];
  /** Replies go back out. */
  outbound: boolean;
  /** Discord: whether the gateway connection is up on this node (undefined when not used here). */
  gatewayConnected?: boolean;
}

/** Server admins' view of the bridges: which are on, the conversations, linking rooms, getting staff in. */
export class BridgesAdmin {
  constructor(
    private readonly d: {
      store: Store;
      repo: BridgesRepository;
      users: UsersService;
      rooms: RoomsService;
      bus: Bus;
      bridge: BridgeService;
      status: () => PlatformStatus[];
      now: () => number;
    },
  ) {}

  async status(p: Principal): Promise<PlatformStatus[]> {
    await this.d.users.requireServerAdmin(p.userId);
    return this.d.status();
  }

  async conversations(
    p: Principal,
    q: { platform?: string; roomId?: string; limit: number; offset: number },
  ): Promise<ConversationView[]> {
    await this.d.users.requireServerAdmin(p.userId);
    return (await this.d.repo.listConversations(q)).map(toConversationView);
  }

  async link(
    p: Principal,
    input: { platform: Platform; externalId: string; roomId: string; title?: string },
  ): Promise<ConversationView> {
    await this.d.users.requireServerAdmin(p.userId);
    if (input.platform === 'api') throw Errors.validation('API conversations are opened by POST /message');
    return toConversationView(
      await this.d.bridge.link(input.platform, input.externalId, input.roomId, input.title),
    );
  }

  async unlink(p: Principal, conversationId: string): Promise<void> {
    await this.d.users.requireServerAdmin(p.userId);
    if (!(await this.d.repo.deleteConversation(conversationId)))
      throw Errors.notFound('Conversation not found');
  }

  /**
   * Adds a user (the caller by default) to a bridged room as its admin: bridged rooms are private
   * and owned by the bridge's bot, so this is how staff get in to read and answer.
   */
  async addStaff(
    p: Principal,
    conversationId: string,
    userId = p.userId,
  ): Promise<{ roomId: string; userId: string }> {
    await this.d.users.requireServerAdmin(p.userId);
    const conv = await this.d.repo.findConversationById(conversationId);
    if (!conv) throw Errors.notFound('Conversation not found');
    const room = await this.d.store.repos.rooms.findById(conv.room_id);
    if (!room) throw Errors.roomNotFound('The conversation has no room yet (it opens on its first message)');
    await this.d.users.get(userId);
    const bot = this.d.bridge.bot;
    const botPrincipal = { userId: bot.userId, username: bot.username, isAdmin: false };
    if (!(await this.d.store.repos.rooms.getMember(room.id, userId))) {
      const events = await this.d.store.tx(async (r) => {
        const current = await r.rooms.findById(room.id);
        if (!current || (await r.rooms.getMember(room.id, userId))) return [];
        return this.d.rooms.addApproved(r, current, userId, p.userId, this.d.now());
      });
      if (events.length > 0) this.d.bus.publish(events);
    }
    const member = await this.d.store.repos.rooms.getMember(room.id, userId);
    if (member && member.role !== 'admin' && member.role !== 'owner') {
      await this.d.rooms.setRole(botPrincipal, room.id, userId, 'admin');
    }
    return { roomId: room.id, userId };
  }
}

export function toConversationView(c: ConversationRow): ConversationView {
  return {
    conversationId: c.id,
    platform: c.platform as Platform,
    externalId: c.external_id,
    roomId: c.room_id,
    title: c.title,
    apiKeyId: c.api_key_id,
    sessionStartedAt: iso(c.session_started_at),
    createdAt: iso(c.created_at),
  };
}
