import type { Kysely } from 'kysely';
import type { LogTap } from '../events/log-tap.js';
import type { RoomEvent } from '../events/room-event.js';
import type { JobQueue } from '../queue/job-queue.js';
import { OutboxRelay } from '../queue/outbox-relay.js';
import { newId } from '../shared/ids.js';
import type { Database } from '../store/database.js';
import { originConversation } from './bridge-model.js';
import { BridgesRepository, type OutboxRow } from './bridges.repository.js';

/** The job queue's name for messages going out to platforms. */
export const BRIDGE_OUT_QUEUE = 'bridge-out';

export interface OutboundJob {
  outboxId: string;
}

export interface BridgeOutboxOptions {
  /** Runs per outgoing message, the first included. */
  attempts: number;
  /** Ms before the first retry; doubling after. */
  backoffMs: number;
  /** Ms one platform send may take (all parts of a long message). */
  timeoutMs: number;
  /** Ms between relay passes that catch rows a nudge missed (a crash, another node's commit). */
  relayIntervalMs: number;
}

/**
 * The way out of a bridged room, built so nothing is lost: every new message in a room with
 * bridged conversations gets an outbox row per conversation (but the one it came from) in the
 * transaction that commits the message (a LogTap). A relay then hands the rows to the job queue
 * under ids made from the row, so a relay that runs twice (two nodes, a crash between adding and
 * marking) adds each job once; jobs of one conversation share a key, so they go out in order.
 */
export class BridgeOutbox implements LogTap {
  private readonly relayer: OutboxRelay<OutboxRow>;

  constructor(
    repo: BridgesRepository,
    queue: JobQueue,
    opts: BridgeOutboxOptions,
    /** Whether any conversation could exist to send to (a platform is configured, or API keys exist). */
    readonly active: () => boolean,
    private readonly now: () => number,
    onError: (err: unknown) => void,
  ) {
    this.relayer = new OutboxRelay(
      repo,
      async (rows) => {
        for (const r of rows) {
          await queue.add<OutboundJob>(
            BRIDGE_OUT_QUEUE,
            'send',
            { outboxId: r.id },
            {
              jobId: r.id,
              key: r.conversation_id,
              attempts: opts.attempts,
              backoffMs: opts.backoffMs,
              timeoutMs: opts.timeoutMs,
            },
          );
        }
      },
      { intervalMs: opts.relayIntervalMs },
      onError,
    );
  }

  /** LogTap: outbox rows for the new messages among `events`, in the appending transaction. */
  async record(db: Kysely<Database>, events: readonly RoomEvent[]): Promise<void> {
    const messages = events.filter((e): e is RoomEvent<'new_message'> => e.type === 'new_message');
    if (messages.length === 0) return;
    const repo = new BridgesRepository(db);
    const conversations = await repo.conversationsOfRooms([...new Set(messages.map((e) => e.roomId))]);
    if (conversations.length === 0) return;
    const now = this.now();
    const rows = [];
    for (const e of messages) {
      const origin = originConversation(e.body.message.clientMsgId);
      for (const c of conversations) {
        if (c.room_id !== e.roomId || c.id === origin) continue;
        rows.push({
          id: newId('bro'),
          conversation_id: c.id,
          room_id: e.roomId,
          seq: e.seq,
          message_id: e.body.message.messageId,
          status: 'pending',
          created_at: now,
          updated_at: now,
        });
      }
    }
    await repo.insertOutbox(rows);
  }

  start(): void {
    this.relayer.start();
  }

  /** Runs the relay soon (after this node committed new messages); passes never overlap. */
  nudge(): void {
    this.relayer.nudge();
  }

  /** Hands every unqueued row to the queue; resolves when none is left. */
  relay(): Promise<number> {
    return this.relayer.relay();
  }

  close(): Promise<void> {
    return this.relayer.close();
  }
}
