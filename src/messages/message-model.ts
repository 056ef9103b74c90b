export const MESSAGE_TYPES = [
  'text',
  'image',
  'file',
  'audio',
  'video',
  'poll',
  'system',
  'ai_response',
  'agent_result',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Types a user may send directly; `poll` goes through the polls API, `system`, `ai_response` and `agent_result` are written by the server. */
export const USER_MESSAGE_TYPES = ['text', 'image', 'file', 'audio', 'video'] as const;

export interface Attachment {
  id: string;
  type: 'image' | 'file' | 'audio' | 'video';
  url: string;
  thumbnailUrl?: string;
  fileName: string;
  fileSize: number;
  mimeType: string;
}

export interface MessageView {
  messageId: string;
  roomId: string;
  seq: number;
  authorId: string;
  authorName: string;
  authorAvatar: string | null;
  content: string;
  type: MessageType;
  timestamp: string;
  /** emoji -> user ids. */
  reactions: Record<string, string[]>;
  replyTo: string | null;
  isEdited: boolean;
  editedAt: string | null;
  isDeleted: boolean;
  isAnonymous: boolean;
  anonymousName: string | null;
  isPinned: boolean;
  attachments: Attachment[];
  clientMsgId: string | null;
  /** Integration-supplied data (seed: metadata), returned as sent. */
  metadata: Record<string, unknown> | null;
}
