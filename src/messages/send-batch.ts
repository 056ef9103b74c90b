import { toMessageAttachment } from '../attachments/attachment-model.js';
import type { RoomEvent } from '../events/room-event.js';
import type { ContentPolicy } from '../moderation/content-policy.js';
import type { ReadAdvance } from '../rooms/rooms.repository.js';
import { pushTo } from '../shared/collections.js';
import { newId } from '../shared/ids.js';
import type { MessageRow } from '../store/database.js';
import type { ItemResult } from '../store/group-commit.js';
import type { Repos } from '../store/store.js';
import type { Attachment, MessageType, MessageView } from './message-model.js';
import { toMessageView } from './message-views.js';
import { checkSends } from './send-checks.js';

/** One validated send waiting for its transaction. */
export interface SendItem {
  roomId: string;
  authorId: string;
  /** Shown with the message; read from the users table when absent. */
  authorName?: string;
  authorAvatar?: string | null;
  /**
   * Check membership, bans, mutes, announcement rights and `replyTo` inside the transaction
   * (see send-checks.ts). Server-side posts that authorized themselves leave it off.
   */
  authorize?: boolean;
  content: string;
  type: MessageType;
  replyTo: string | null;
  clientMsgId: string | null;
  attachments: Attachment[] | null;
  metadata: Record<string, unknown> | null;
  /** Posted under `anonymousName` (null: the default alias); checked against the room's settings. */
  isAnonymous?: boolean;
  anonymousName?: string | null;
  /** Text besides `content` the room's moderation must pass (poll options). */
  extraTexts?: string[];
  /** Uploaded attachments (ready, in this room, by this author, unused) the message claims. */
  attachmentIds?: string[];
  now: number;
}

export interface SendResult {
  message: MessageView;
  /** The event that carried it; undefined when this was a retry of an already-stored send. */
  event: RoomEvent | undefined;
  duplicate: boolean;
}

/**
 * Commits a batch of sends in one transaction: resolves idempotency keys (against the store and
 * within the batch), checks the senders, reserves a block of seqs in every room and writes messages
 * and events together. A constant number of statements per batch, however many rooms it spans
 * (reserveSeqsMany also locks the rooms in id order, so concurrent batches on PostgreSQL cannot deadlock).
 */
export async function commitSendBatch(
  r: Repos,
  items: readonly SendItem[],
  policy: ContentPolicy,
): Promise<ItemResult<SendResult>[]> {
  const results: (ItemResult<SendResult> | undefined)[] = new Array(items.length);
  const existing = await findExisting(r, items);
  const firstByKey = new Map<string, number>();
  const fresh: number[] = [];
  /** Items whose key is already stored: answered with the stored message. */
  const stored = new Map<number, MessageRow>();
  items.forEach((it, i) => {
    if (it.clientMsgId === null) {
      fresh.push(i);
      return;
    }
    const key = `${it.authorId}\u0000${it.clientMsgId}`;
    const earlier = existing.get(key);
    if (earlier) {
      stored.set(i, earlier);
    } else if (firstByKey.has(key)) {
      results[i] = undefined; // filled from the first occurrence below
    } else {
      firstByKey.set(key, i);
      fresh.push(i);
    }
  });

  const checks = await checkSends(r, items, fresh, policy);
  const author = (it: SendItem) => {
    const u = checks.authors.get(it.authorId);
    return { name: it.authorName ?? u?.display_name ?? null, avatar: it.authorAvatar ?? u?.avatar ?? null };
  };
  for (const [i, row] of stored) {
    const message = { ...toMessageView(row, author(items[i]!)), clientMsgId: row.client_msg_id };
    results[i] = { ok: true, value: { message, event: undefined, duplicate: true } };
  }
  const byRoom = new Map<string, number[]>();
  for (const i of fresh) {
    const refused = checks.refused.get(i);
    if (refused) results[i] = { ok: false, error: refused };
    else pushTo(byRoom, items[i]!.roomId, i);
  }

  // One statement each for the whole batch, whatever the number of rooms: reserve every room's
  // seqs, insert all events, insert all messages, move the senders' read pointers.
  const roomIds = [...byRoom.keys()].sort();
  const reserved = await r.rooms.reserveSeqsMany(
    roomIds.map((roomId) => {
      const n = byRoom.get(roomId)!.length;
      return { roomId, count: n, messages: n };
    }),
    items[0]?.now ?? Date.now(),
  );
  const perRoom: { roomId: string; idx: number[]; rows: MessageRow[]; events: RoomEvent[] }[] = [];
  for (const roomId of roomIds) {
    const idx = byRoom.get(roomId)!;
    const now = items[idx[0]!]!.now;
    const { firstSeq, firstMsgNo } = reserved.get(roomId)!;
    const rows: MessageRow[] = [];
    const events = idx.map((i, k): RoomEvent => {
      const it = items[i]!;
      const files = it.attachmentIds?.map((id) => toMessageAttachment(checks.attachments.get(id)!));
      const row = messageRow(
        files ? { ...it, attachments: files } : it,
        roomId,
        firstSeq + k,
        firstMsgNo + k,
      );
      rows.push(row);
      return {
        roomId,
        seq: row.seq,
        type: 'new_message',
        // The log is what every member reads: an anonymous message names no actor there.
        actorId: it.isAnonymous ? null : it.authorId,
        createdAt: now,
        body: { message: toMessageView(row, author(it)) },
      };
    });
    perRoom.push({ roomId, idx, rows, events });
  }
  await r.events.insertMany(perRoom.flatMap((p) => p.events));
  await r.messages.insertMany(perRoom.flatMap((p) => p.rows));

  // Sending implies having read the room up to one's own message. Not for anonymous messages:
  // a read position landing on one would point at its author.
  const reads = new Map<string, ReadAdvance>();
  for (const { roomId, idx, rows, events } of perRoom) {
    await claimAttachments(
      r,
      idx.map((i) => items[i]!),
      rows,
    );
    for (const row of rows) {
      if (row.is_anonymous === 0) {
        reads.set(`${roomId}\u0000${row.author_id}`, {
          roomId,
          userId: row.author_id,
          seq: row.seq,
          readCount: row.msg_no,
        });
      }
    }
    idx.forEach((i, k) => {
      const e = events[k]!;
      const logged = (e.body as { message: MessageView }).message;
      // The sender's own answer keeps its clientMsgId, which the log hides for anonymous messages.
      const message =
        logged.clientMsgId === items[i]!.clientMsgId
          ? logged
          : { ...logged, clientMsgId: items[i]!.clientMsgId };
      results[i] = { ok: true, value: { message, event: e, duplicate: false } };
    });
  }
  await r.rooms.advanceReadMany([...reads.values()]);

  // Repeats of a key inside this batch answer with the first occurrence's message.
  return items.map((it, i) => {
    const r0 = results[i];
    if (r0) return r0;
    const first = results[firstByKey.get(`${it.authorId}\u0000${it.clientMsgId}`)!]!;
    return first.ok ? { ok: true, value: { ...first.value, event: undefined, duplicate: true } } : first;
  });
}

/**
 * Ties each claimed attachment to its message. A concurrent batch that claimed one first makes this
 * one fail as a whole; the group committer then retries item by item, and the loser is refused in
 * send-checks with a clear error.
 */
async function claimAttachments(r: Repos, items: SendItem[], rows: MessageRow[]): Promise<void> {
  for (let k = 0; k < items.length; k++) {
    const ids = items[k]!.attachmentIds;
    if (!ids?.length) continue;
    if ((await r.attachments.attachToMessage(ids, rows[k]!.id)) !== ids.length) {
      throw new Error('an attachment was claimed by another message concurrently');
    }
  }
}

async function findExisting(r: Repos, items: readonly SendItem[]): Promise<Map<string, MessageRow>> {
  const keys = items.flatMap((it) =>
    it.clientMsgId === null ? [] : [{ authorId: it.authorId, clientMsgId: it.clientMsgId }],
  );
  const out = new Map<string, MessageRow>();
  for (const row of await r.messages.findByClientKeys(keys)) {
    out.set(`${row.author_id}\u0000${row.client_msg_id}`, row);
  }
  return out;
}

function messageRow(it: SendItem, roomId: string, seq: number, msgNo: number): MessageRow {
  return {
    id: newId('msg'),
    room_id: roomId,
    seq,
    msg_no: msgNo,
    author_id: it.authorId,
    type: it.type,
    content: it.content,
    reply_to: it.replyTo,
    client_msg_id: it.clientMsgId,
    attachments: it.attachments ? JSON.stringify(it.attachments) : null,
    metadata: it.metadata ? JSON.stringify(it.metadata) : null,
    is_anonymous: it.isAnonymous ? 1 : 0,
    anonymous_name: it.isAnonymous ? (it.anonymousName ?? null) : null,
    is_pinned: 0,
    pinned_by: null,
    pinned_at: null,
    created_at: it.now,
    edited_at: null,
    deleted_at: null,
    deleted_by: null,
  };
}
