export {
  type ClientOptions,
  type ConnectionState,
  type SendAck,
  type SendOptions,
  SwitchboardClient,
  SwitchboardError,
  type UploadedAttachment,
  type WebSocketFactory,
  type WebSocketLike,
} from './client.js';
export { type CursorStore, MemoryCursorStore, StorageCursorStore } from './cursor-store.js';
export type {
  AgentStep,
  LogEventFrame,
  MessageData,
  PollData,
  ServerFrames,
  ServerFrameType,
} from './frames.js';
