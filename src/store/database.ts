import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * Table shapes shared by SQLite and PostgreSQL. Times are epoch milliseconds (bigint), booleans are
 * 0/1 integers and JSON is text, so one set of migrations and queries serves both engines.
 */
export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  password_hash: string | null;
  is_admin: number;
  is_bot: number;
  avatar: string | null;
  external_issuer: string | null;
  external_subject: string | null;
  created_at: number;
  updated_at: number;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  /** sha256 of the token; the token itself is never stored. */
  token_hash: string;
  /** All tokens rotated from one login share a family; reuse of a rotated token revokes the family. */
  family_id: string;
  expires_at: number;
  revoked_at: number | null;
  created_at: number;
}

export interface RoomsTable {
  id: string;
  type: string;
  name: string;
  description: string;
  avatar: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  /** Highest event seq in this room's log. */
  last_seq: Generated<number>;
  /** Number of messages ever posted; message `msg_no` values count up to it. */
  message_count: Generated<number>;
  last_activity: number;
  member_count: Generated<number>;
  max_members: number;
  /** JSON RoomSettings. */
  settings: string;
  /** For direct rooms: the two user ids sorted and joined, so a pair has one room. */
  dm_key: string | null;
}

export interface MembersTable {
  room_id: string;
  user_id: string;
  role: string;
  joined_at: number;
  /** Highest seq the member has read. */
  read_seq: Generated<number>;
  /** `msg_no` of the newest message at or below read_seq: unread = rooms.message_count - read_count. */
  read_count: Generated<number>;
  /** Highest seq one of the member's clients acknowledged receiving. */
  delivered_seq: Generated<number>;
  muted_until: number | null;
}

export interface RoomBansTable {
  room_id: string;
  user_id: string;
  banned_by: string;
  reason: string | null;
  created_at: number;
  expires_at: number | null;
}

export interface EventsTable {
  room_id: string;
  seq: number;
  type: string;
  actor_id: string | null;
  /** JSON event payload, exactly what clients receive. */
  payload: string;
  created_at: number;
}

export interface MessagesTable {
  id: string;
  room_id: string;
  seq: number;
  msg_no: number;
  author_id: string;
  type: string;
  content: string;
  reply_to: string | null;
  client_msg_id: string | null;
  /** JSON Attachment[] or null. */
  attachments: string | null;
  /** JSON object or null. */
  metadata: string | null;
  is_anonymous: number;
  anonymous_name: string | null;
  is_pinned: number;
  pinned_by: string | null;
  pinned_at: number | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  deleted_by: string | null;
}

export interface ReactionsTable {
  message_id: string;
  user_id: string;
  emoji: string;
  room_id: string;
  created_at: number;
}

/** The store job queue (src/queue/store-job-queue.ts). */
export interface JobsTable {
  queue: string;
  id: string;
  /** Enqueue order within the queue. */
  seq: number;
  name: string;
  /** JSON job data. */
  data: string;
  /** 0 urgent, 1 high, 2 normal, 3 low: ascending order is run order. */
  priority: number;
  /** Jobs of a queue with the same key run one at a time, in seq order. */
  key: string | null;
  /** 'waiting' (delayed while run_at is ahead), 'active', 'completed' or 'failed'. */
  state: string;
  /** Runs started so far. */
  attempt: Generated<number>;
  /** Most runs allowed. */
  attempts: number;
  backoff_ms: number;
  timeout_ms: number | null;
  /** Epoch ms from which a waiting job may start. */
  run_at: number;
  /** Identifies the run holding the lease, so a run that lost its lease cannot record an outcome. */
  lock_token: string | null;
  /** Lease end (epoch ms) of an active job; past it, another worker takes the job over. */
  locked_until: number | null;
  cancel_requested: Generated<number>;
  /** Error text of the last failed attempt. */
  error: string | null;
  enqueued_at: number;
  finished_at: number | null;
}

/** Error reports from clients (src/client-errors), kept for a bounded time per user. */
export interface ClientErrorsTable {
  id: string;
  user_id: string;
  /** 'error' or 'warning'. */
  level: string;
  message: string;
  stack: string | null;
  /** JSON object with secrets redacted, or null. */
  context: string | null;
  client_version: string | null;
  url: string | null;
  /** The User-Agent header of a REST report; null over the WebSocket. */
  user_agent: string | null;
  /** 'http' or 'websocket'. */
  source: string;
  created_at: number;
}

/**
 * SQLite only (migration 003): a stable integer per live message, the rowid of its entries in the
 * `messages_fts` and `messages_trigram` FTS5 tables. Kept in step by triggers on `messages`.
 */
export interface MessageSearchTable {
  doc_id: Generated<number>;
  message_id: string;
}

/**
 * PostgreSQL only (migration 003): the search document of each live message, kept in step by a
 * trigger on `messages`.
 */
export interface MessageDocumentsTable {
  message_id: string;
  /** tsvector; read as its text form. */
  document: string;
}

/** One option chosen by one user in a poll (src/polls). */
export interface PollVotesTable {
  message_id: string;
  user_id: string;
  option_id: string;
  room_id: string;
  created_at: number;
}

/** A closed poll: present once, when it was closed. */
export interface PollClosuresTable {
  message_id: string;
  room_id: string;
  closed_by: string;
  closed_at: number;
}

/** A pending request to join a room that requires approval (src/rooms/join-requests.*). */
export interface JoinRequestsTable {
  room_id: string;
  user_id: string;
  message: string | null;
  created_at: number;
}

export interface AttachmentsTable {
  id: string;
  room_id: string;
  uploader_id: string;
  message_id: string | null;
  /** image, file, audio or video (from the MIME type). */
  kind: string;
  file_name: string;
  mime_type: string;
  size: number;
  storage_key: string;
  thumb_key: string | null;
  width: number | null;
  height: number | null;
  /** pending | ready */
  status: string;
  created_at: number;
  completed_at: number | null;
  deleted_at: number | null;
}

/** The AI assistant's per-user, per-room memory (src/ai); `room_id` '' is outside any room. */
export interface AiSessionsTable {
  id: string;
  user_id: string;
  room_id: string;
  /** JSON `{q, a}[]`: the latest question/answer turns, oldest first. */
  messages: string;
  /** The latest `/summarize` answer for this user and room. */
  summary: string | null;
  tokens_used: number;
  created_at: number;
  updated_at: number;
  /** created_at + 24 h: later the session is ignored and swept. */
  expires_at: number;
}

/** One queued assistant answer, by job id: lets `/stop` find and cancel it from any node. */
export interface AiRequestsTable {
  job_id: string;
  room_id: string;
  user_id: string;
  /** ask | summarize | translate */
  kind: string;
  trigger_message_id: string;
  /** queued | running | done | cancelled | failed */
  status: string;
  created_at: number;
  updated_at: number;
}

/** One provider call (an answer, an /ask, a moderation check): the usage accounting. */
export interface AiUsageTable {
  id: string;
  /** ask | summarize | translate | api | moderation */
  kind: string;
  job_id: string | null;
  room_id: string | null;
  user_id: string | null;
  provider: string;
  model: string;
  /** ok | failed | cancelled */
  status: string;
  error_code: string | null;
  input_tokens: number;
  output_tokens: number;
  latency_ms: number;
  created_at: number;
}

/** A git repository the agent works on, owned by the room that first used it (src/agents). */
export interface AgentProjectsTable {
  id: string;
  room_id: string;
  repo_url: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** One agent instruction and its outcome (src/agents); the job queue runs it under the same id. */
export interface AgentJobsTable {
  id: string;
  room_id: string;
  /** Message id of the thread's root; the git branch is `thread-<thread_id>`. */
  thread_id: string;
  project_id: string;
  user_id: string;
  session_id: string;
  command_id: string;
  /** site | report */
  kind: string;
  instruction: string;
  repo_url: string | null;
  previous_commit: string | null;
  branch: string;
  /** queued | running | succeeded | failed | interrupted | cancelled */
  state: string;
  /** interrupted (a newer instruction in the thread) | cancelled (a user) */
  stop_reason: string | null;
  /** The newer job, or the user who cancelled. */
  stopped_by: string | null;
  attempt: number;
  /** JSON OutputMessage once finished. */
  result: string | null;
  result_message_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

/** A key for `POST /message`; only its sha256 is kept (src/bridges). */
export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  /** The key's first characters, to tell keys apart in listings. */
  prefix: string;
  /** Receives replies in the conversations this key opened. */
  callback_url: string | null;
  callback_secret: string | null;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A platform conversation mapped to a room (src/bridges). */
export interface BridgeConversationsTable {
  id: string;
  /** telegram | slack | discord | api */
  platform: string;
  external_id: string;
  room_id: string;
  title: string;
  /** For `api` conversations: the key that opened it (its callback gets the replies). */
  api_key_id: string | null;
  /** Start of the conversation's 24 h AI session, and the room's last seq before it. */
  session_started_at: number;
  session_start_seq: number;
  /** Discord: the interaction token the next reply answers, until it expires. */
  reply_token: string | null;
  reply_token_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

/** A message that crossed a bridge: its platform id in that conversation. */
export interface BridgeMessagesTable {
  conversation_id: string;
  external_id: string;
  message_id: string;
  created_at: number;
}

/** A message to send out to a conversation, written in the message's own transaction. */
export interface BridgeOutboxTable {
  id: string;
  conversation_id: string;
  room_id: string;
  seq: number;
  message_id: string;
  /** pending | sent | failed | skipped */
  status: string;
  /** 1 once handed to the job queue. */
  queued: Generated<number>;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** An outgoing webhook: a URL that receives one room's events, or every room's (src/webhooks). */
export interface WebhooksTable {
  id: string;
  /** Null: a global webhook (every room). */
  room_id: string | null;
  url: string;
  /** JSON array of event types, or ["*"]. */
  event_types: string;
  description: Generated<string>;
  /** Signs deliveries (HMAC-SHA256); never shown after create/rotate. */
  secret: string;
  /** After a rotation: also signs until `previous_secret_expires_at`. */
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  active: Generated<number>;
  /** Why the server turned it off (410 Gone, too many failures); null when on or turned off by hand. */
  disabled_reason: string | null;
  /** Deliveries in a row that failed for good. */
  consecutive_failures: Generated<number>;
  total_deliveries: Generated<number>;
  total_failures: Generated<number>;
  last_success_at: number | null;
  last_failure_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** One event (or ping) to send to a webhook, written in the event's own transaction. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_type: string;
  /** `<roomId>:<seq>` for room events: the same across redeliveries. */
  event_id: string;
  room_id: string | null;
  seq: number | null;
  /** The JSON body sent. */
  payload: string;
  /** pending | delivered | failed */
  status: string;
  /** 1 once handed to the job queue. */
  queued: Generated<number>;
  max_attempts: number;
  /** 1: delivered in event order with the webhook's other ordered deliveries (a job key). */
  ordered: Generated<number>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  /** The start of the receiver's last answer. */
  last_response: string | null;
  redelivery_of: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  rooms: RoomsTable;
  members: MembersTable;
  room_bans: RoomBansTable;
  events: EventsTable;
  messages: MessagesTable;
  reactions: ReactionsTable;
  jobs: JobsTable;
  client_errors: ClientErrorsTable;
  message_search: MessageSearchTable;
  message_documents: MessageDocumentsTable;
  poll_votes: PollVotesTable;
  poll_closures: PollClosuresTable;
  join_requests: JoinRequestsTable;
  attachments: AttachmentsTable;
  ai_sessions: AiSessionsTable;
  ai_requests: AiRequestsTable;
  ai_usage: AiUsageTable;
  agent_projects: AgentProjectsTable;
  agent_jobs: AgentJobsTable;
  api_keys: ApiKeysTable;
  bridge_conversations: BridgeConversationsTable;
  bridge_messages: BridgeMessagesTable;
  bridge_outbox: BridgeOutboxTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export type UserRow = Selectable<UsersTable>;
export type RoomRow = Selectable<RoomsTable>;
export type MemberRow = Selectable<MembersTable>;
export type MessageRow = Selectable<MessagesTable>;
export type EventRow = Selectable<EventsTable>;
export type NewMessageRow = Insertable<MessagesTable>;
export type ClientErrorRow = Selectable<ClientErrorsTable>;
export type AttachmentRow = Selectable<AttachmentsTable>;
