import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { Errors } from '../errors/errors.js';
import type { RoomEvent } from '../events/room-event.js';
import { appendOne } from '../events/room-log.js';
import type { MessageView } from '../messages/message-model.js';
import type { MessagesService } from '../messages/messages.service.js';
import { loadRoom, type RoomAccess, requireMember, requireReadable } from '../rooms/room-access.js';
import { atLeast } from '../rooms/room-model.js';
import { parseJson } from '../shared/json.js';
import type { MessageRow } from '../store/database.js';
import type { Repos, Store } from '../store/store.js';
import { POLL_LIMITS, type PollDefinition, type PollView, pollDefinition } from './poll-model.js';

export interface CreatePollInput {
  question: string;
  options: string[];
  multipleChoice?: boolean;
  anonymous?: boolean;
}

interface LoadedPoll {
  a: RoomAccess;
  msg: MessageRow;
  def: PollDefinition;
}

/**
 * Polls: a `poll` message (sent through MessagesService, so authorization, rate limits and group
 * commit apply) whose metadata holds the options; votes and closing are logged as `poll_updated`.
 */
export class PollsService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly messages: MessagesService,
    private readonly now: () => number = Date.now,
  ) {}

  async create(
    p: Principal,
    roomId: string,
    input: CreatePollInput,
  ): Promise<{ message: MessageView; poll: PollView }> {
    const question = input.question.trim();
    if (question.length === 0 || [...question].length > POLL_LIMITS.question) {
      throw Errors.validation(`question must be 1-${POLL_LIMITS.question} characters`);
    }
    if (input.options.length < POLL_LIMITS.minOptions || input.options.length > POLL_LIMITS.maxOptions) {
      throw Errors.validation(`A poll needs ${POLL_LIMITS.minOptions}-${POLL_LIMITS.maxOptions} options`);
    }
    const texts = input.options.map((o) => o.trim());
    if (texts.some((t) => t.length === 0 || [...t].length > POLL_LIMITS.option)) {
      throw Errors.validation(`Each option must be 1-${POLL_LIMITS.option} characters`);
    }
    if (new Set(texts.map((t) => t.toLowerCase())).size !== texts.length) {
      throw Errors.validation('Poll options must be unique');
    }
    const def: PollDefinition = {
      options: texts.map((text, i) => ({ id: `opt${i + 1}`, text })),
      multipleChoice: input.multipleChoice === true,
      anonymous: input.anonymous === true,
    };
    const r = await this.messages.sendPoll(p, roomId, question, def);
    return { message: r.message, poll: this.tally(question, def, [], false, p.userId) };
  }

  async get(p: Principal, roomId: string, messageId: string): Promise<PollView> {
    const r = this.store.repos;
    const { a, msg, def } = await this.load(r, p, roomId, messageId, this.now());
    requireReadable(a);
    return this.view(r, msg, def, p.userId);
  }

  /** Sets the caller's choices (empty retracts). Logs `poll_updated` only when they change. */
  async vote(p: Principal, roomId: string, messageId: string, optionIds: string[]): Promise<PollView> {
    const chosen = [...new Set(optionIds)];
    if (chosen.length !== optionIds.length) throw Errors.validation('optionIds must be unique');
    return this.change(p, roomId, messageId, async (r, { a, msg, def }, now) => {
      requireMember(a);
      if ((await r.polls.closedAt(messageId)) !== null) throw Errors.pollClosed();
      const known = new Set(def.options.map((o) => o.id));
      const unknown = chosen.find((id) => !known.has(id));
      if (unknown !== undefined) throw Errors.validation(`Unknown option id ${unknown}`);
      if (!def.multipleChoice && chosen.length > 1) {
        throw Errors.validation('This poll allows one choice (or none, to retract)');
      }
      const mine = (await r.polls.votes(messageId)).filter((v) => v.user_id === p.userId);
      const same = mine.length === chosen.length && mine.every((v) => chosen.includes(v.option_id));
      if (same) return undefined;
      await r.polls.setVotes(messageId, roomId, p.userId, chosen, now);
      // In anonymous polls the log does not say who voted.
      const actorId = def.anonymous ? null : p.userId;
      return this.logUpdate(r, msg, def, actorId, now);
    });
  }

  /** Closes the poll (its author or a moderator); closing a closed poll changes nothing. */
  async close(p: Principal, roomId: string, messageId: string): Promise<PollView> {
    return this.change(p, roomId, messageId, async (r, { a, msg, def }, now) => {
      const m = requireMember(a);
      if (msg.author_id !== p.userId && !atLeast(m.role, 'moderator')) {
        throw Errors.forbidden('Only the author or a moderator can close a poll');
      }
      if (!(await r.polls.close(messageId, roomId, p.userId, now))) return undefined;
      return this.logUpdate(r, msg, def, p.userId, now);
    });
  }

  /** Runs a poll change in a transaction, publishes its event after commit, answers the caller's view. */
  private async change(
    p: Principal,
    roomId: string,
    messageId: string,
    fn: (r: Repos, poll: LoadedPoll, now: number) => Promise<RoomEvent | undefined>,
  ): Promise<PollView> {
    const now = this.now();
    const { event, view } = await this.store.tx(async (r) => {
      const poll = await this.load(r, p, roomId, messageId, now);
      const event = await fn(r, poll, now);
      return { event, view: await this.view(r, poll.msg, poll.def, p.userId) };
    });
    if (event) this.bus.publish([event]);
    return view;
  }

  private async load(
    r: Repos,
    p: Principal,
    roomId: string,
    messageId: string,
    now: number,
  ): Promise<LoadedPoll> {
    const a = await loadRoom(r, p, roomId, now);
    const msg = await r.messages.findById(messageId);
    if (!msg || msg.room_id !== roomId) throw Errors.messageNotFound();
    if (msg.deleted_at !== null) throw Errors.messageDeleted();
    const def =
      msg.type === 'poll'
        ? pollDefinition(parseJson<Record<string, unknown> | null>(msg.metadata, null))
        : undefined;
    if (!def) throw Errors.notAPoll();
    return { a, msg, def };
  }

  private async logUpdate(
    r: Repos,
    msg: MessageRow,
    def: PollDefinition,
    actorId: string | null,
    now: number,
  ): Promise<RoomEvent> {
    const poll = await this.view(r, msg, def, undefined);
    return appendOne(r, msg.room_id, now, {
      type: 'poll_updated',
      actorId,
      body: { messageId: msg.id, poll },
    });
  }

  private async view(
    r: Repos,
    msg: MessageRow,
    def: PollDefinition,
    viewer: string | undefined,
  ): Promise<PollView> {
    const [votes, closedAt] = await Promise.all([r.polls.votes(msg.id), r.polls.closedAt(msg.id)]);
    return this.tally(msg.content, def, votes, closedAt !== null, viewer);
  }

  private tally(
    question: string,
    def: PollDefinition,
    votes: readonly { user_id: string; option_id: string }[],
    closed: boolean,
    viewer: string | undefined,
  ): PollView {
    const view: PollView = {
      question,
      options: def.options.map((o) => {
        const voters = votes.filter((v) => v.option_id === o.id).map((v) => v.user_id);
        return def.anonymous
          ? { id: o.id, text: o.text, votes: voters.length }
          : { id: o.id, text: o.text, votes: voters.length, voters };
      }),
      totalVoters: new Set(votes.map((v) => v.user_id)).size,
      closed,
      multipleChoice: def.multipleChoice,
      anonymous: def.anonymous,
    };
    if (viewer !== undefined) {
      view.myVotes = votes.filter((v) => v.user_id === viewer).map((v) => v.option_id);
    }
    return view;
  }
}
