import type { AgentService } from '../agents/agent.service.js';
import type { AttachmentsService } from '../attachments/attachments.service.js';
import type { Principal } from '../auth/principal.js';
import type { ClientErrorsService } from '../client-errors/client-errors.service.js';
import { Errors } from '../errors/errors.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { PollsService } from '../polls/polls.service.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { ReceiptsService } from '../receipts/receipts.service.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { TypingService } from '../typing/typing.service.js';
import type { ClientFrame, ClientFrameOf, ClientFrameType } from './protocol.js';

export interface FrameServices {
  attachments: AttachmentsService;
  messages: MessagesService;
  rooms: RoomsService;
  receipts: ReceiptsService;
  typing: TypingService;
  presence: PresenceService;
  clientErrors: ClientErrorsService;
  polls: PollsService;
  agents: AgentService;
}

/** What a handler returns is sent back as `{type:'ack', id, ...result}`. */
type Handler<T extends ClientFrameType> = (
  s: FrameServices,
  p: Principal,
  f: ClientFrameOf<T>,
  ctx: FrameContext,
) => Promise<Record<string, unknown>>;

/** Per-frame hooks from the connection. */
export interface FrameContext {
  /** A send is queued for commit: the connection may start its next frame (see realtime.ts). */
  onSubmitted?: () => void;
}

async function uploadRequest(
  s: FrameServices,
  p: Principal,
  f: ClientFrameOf<'upload_request' | 'image_upload'>,
): Promise<Record<string, unknown>> {
  const { fileName, mimeType, size } = f;
  return s.attachments.requestUpload(p, f.roomId, { fileName, mimeType, size });
}

/** `report_request` / `report_modification`: a report job (see POST /v1/agent/jobs). */
async function reportRequest(
  s: FrameServices,
  p: Principal,
  f: ClientFrameOf<'report_request' | 'report_modification'>,
): Promise<Record<string, unknown>> {
  const { roomId, instruction, projectId, repoUrl, threadId, sessionId, commandId, previousCommit } = f;
  if (f.type === 'report_modification' && !threadId) {
    throw Errors.validation('report_modification needs the threadId of the report to change');
  }
  const { job, duplicate } = await s.agents.create(p, {
    roomId,
    instruction,
    kind: 'report',
    projectId,
    repoUrl,
    threadId,
    sessionId,
    commandId,
    previousCommit,
  });
  return {
    jobId: job.jobId,
    roomId,
    threadId: job.threadId,
    branch: job.branch,
    state: job.state,
    duplicate,
  };
}

async function downloadRequest(
  s: FrameServices,
  p: Principal,
  f: ClientFrameOf<'download_request' | 'image_download_request'>,
): Promise<Record<string, unknown>> {
  const signed = await s.attachments.downloadUrl(p, f.attachmentId, f.variant ?? 'original');
  return { attachmentId: f.attachmentId, ...signed };
}

/**
 * One handler per client frame type that maps to a service call. `auth`, `ping` and `resume` belong
 * to the connection itself (see connection.ts).
 */
export const FRAME_HANDLERS: { [T in Exclude<ClientFrameType, 'auth' | 'ping' | 'resume'>]: Handler<T> } = {
  upload_request: uploadRequest,
  image_upload: uploadRequest,
  async upload_complete(s, p, f) {
    return { attachment: await s.attachments.complete(p, f.roomId, f.attachmentId) };
  },
  download_request: downloadRequest,
  report_request: reportRequest,
  report_modification: reportRequest,
  image_download_request: downloadRequest,

  async join_room(s, p, f) {
    const room = await s.rooms.join(p, f.roomId);
    return { roomId: room.roomId, lastSeq: room.lastSeq };
  },

  async leave_room(s, p, f) {
    await s.rooms.leave(p, f.roomId);
    return { roomId: f.roomId };
  },

  async send_message(s, p, f, ctx) {
    const input = {
      onSubmitted: ctx.onSubmitted,
      content: f.content,
      type: f.messageType,
      replyTo: f.replyTo,
      clientMsgId: f.clientMsgId,
      isAnonymous: f.isAnonymous,
      anonymousName: f.anonymousName,
      attachments: f.attachments,
    };
    if ((f.roomId === undefined) === (f.toUserId === undefined)) {
      throw Errors.validation('send_message needs exactly one of roomId or toUserId');
    }
    const r = f.roomId
      ? await s.messages.send(p, f.roomId, input)
      : await s.messages.sendDirect(p, f.toUserId!, input);
    s.typing.stop(p.userId, p.username, r.message.roomId);
    return {
      status: 'sent',
      roomId: r.message.roomId,
      messageId: r.message.messageId,
      seq: r.message.seq,
      clientMsgId: r.message.clientMsgId,
      duplicate: r.duplicate,
      timestamp: r.message.timestamp,
    };
  },

  async edit_message(s, p, f) {
    const m = await s.messages.edit(p, f.roomId, f.messageId, f.content);
    return { roomId: f.roomId, messageId: m.messageId };
  },

  async delete_message(s, p, f) {
    await s.messages.delete(p, f.roomId, f.messageId);
    return { roomId: f.roomId, messageId: f.messageId };
  },

  async message_reaction(s, p, f) {
    const users = await s.messages.react(p, f.roomId, f.messageId, f.emoji, f.action !== 'remove');
    return { roomId: f.roomId, messageId: f.messageId, emoji: f.emoji, users };
  },

  async pin_message(s, p, f) {
    const m = await s.messages.pin(p, f.roomId, f.messageId, f.pinned ?? true);
    return { roomId: f.roomId, messageId: m.messageId, isPinned: m.isPinned };
  },

  async poll_vote(s, p, f) {
    const poll = await s.polls.vote(p, f.roomId, f.messageId, f.optionIds);
    return { roomId: f.roomId, messageId: f.messageId, poll };
  },

  async typing_start(s, p, f) {
    await s.rooms.requireMembership(p, f.roomId);
    s.typing.start(p.userId, p.username, f.roomId);
    return { roomId: f.roomId };
  },

  async typing_stop(s, p, f) {
    s.typing.stop(p.userId, p.username, f.roomId);
    return { roomId: f.roomId };
  },

  async mark_read(s, p, f) {
    const r = await s.receipts.markRead(p, f.roomId, f.seq);
    return { roomId: f.roomId, readSeq: r.readSeq, unreadCount: r.unreadCount };
  },

  async mark_delivered(s, p, f) {
    const r = await s.receipts.markDelivered(p, f.roomId, f.seq);
    return { roomId: f.roomId, deliveredSeq: r.deliveredSeq };
  },

  async set_presence(s, p, f) {
    if (f.status === 'offline')
      throw Errors.validation('Set online, away or busy; offline follows from disconnecting');
    await s.presence.setStatus(p.userId, f.status, f.customStatus ?? null);
    return { status: f.status };
  },

  async error_log(s, p, f) {
    const { message, stack, context, clientVersion, url, level } = f;
    const report = { message, stack, context, clientVersion, url, level };
    return s.clientErrors.report(p, report, { source: 'websocket' });
  },
};

export function isServiceFrame(
  f: ClientFrame,
): f is Extract<ClientFrame, { type: keyof typeof FRAME_HANDLERS }> {
  return f.type in FRAME_HANDLERS;
}
