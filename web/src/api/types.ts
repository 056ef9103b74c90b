/** REST shapes the web client reads (docs/api.md); only the fields it uses. */

export interface User {
  userId: string;
  username: string;
  displayName: string;
  avatar: string | null;
  isAdmin?: boolean;
  isBot?: boolean;
}

export interface AuthResult {
  user: User;
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
}

export type RoomType = 'public' | 'private' | 'group' | 'direct' | 'announcement';
export type Role = 'owner' | 'admin' | 'moderator' | 'member';

export interface Room {
  roomId: string;
  name: string;
  description: string;
  type: RoomType;
  memberCount: number;
  lastActivity: string;
  lastSeq: number;
  isJoined?: boolean;
  role?: Role | null;
  readSeq?: number;
  unreadCount?: number;
  settings?: Record<string, unknown>;
}

export interface Attachment {
  id: string;
  type: 'image' | 'file' | 'audio' | 'video';
  url: string;
  thumbnailUrl?: string;
  fileName: string;
  fileSize: number;
  mimeType: string;
}

export interface Message {
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
  attachments?: Attachment[];
  /** Data written with the message: `agentResult` on `agent_result` messages, `ai` on AI answers. */
  metadata?: Record<string, unknown> | null;
}

/** `metadata.agentResult` of an `agent_result` message (docs/agents.md, "Job lifecycle"). */
export interface AgentResult {
  jobId: string;
  kind: 'site' | 'report';
  success: boolean;
  summary: string;
  siteUrl?: string;
  deploymentTime?: number;
  branch?: string;
  commitId?: string;
  filesChanged?: string[];
  attachmentIds?: string[];
  error?: string;
  interrupted?: boolean;
  outputTruncated?: boolean;
}

export interface Member {
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  readSeq: number;
  deliveredSeq: number;
  isBot?: boolean;
}

export interface Presence {
  userId: string;
  status: string;
}

export interface SearchResult {
  message: Message;
  /** HTML-escaped text with matches between « and ». */
  highlight: string;
  rank: number;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}
