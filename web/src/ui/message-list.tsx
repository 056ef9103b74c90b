import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Message } from '../api/types';
import type { ChatStore } from '../state/chat-store';
import { AgentJobCard } from './agent-views';
import { useChat } from './context';
import { MessageItem } from './message-item';
import { RichText } from './rich-text';

/** Distance from the top, in px, at which older history starts loading. */
const LOAD_OLDER_AT_PX = 200;
/** Within this many px of the bottom the list counts as "at the bottom" (follows new messages, marks read). */
const BOTTOM_SLACK_PX = 48;
/** Pages to read back at most when looking for a message to show. */
const MAX_FOCUS_PAGES = 20;
/** How long a message jumped to stays outlined, in ms. */
const FLASH_MS = 4000;

export interface MessageListProps {
  roomId: string;
  joined: boolean;
  canPin: boolean;
  canModerate: boolean;
  focusMessageId: string | undefined;
  onFocused: () => void;
  onReply: (m: Message) => void;
  onEdit: (m: Message) => void;
}

/**
 * The room's messages, oldest at the top. Follows new messages while scrolled to the bottom, keeps
 * the view still while older pages load above it (infinite scroll), and marks the room read while
 * the newest messages are in view.
 */
export function MessageList(p: MessageListProps) {
  const { store, actions } = useChat();
  const { roomId } = p;
  const msgs = store.roomMessages(roomId);
  const list = msgs.list();
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const fromBottom = useRef(0);
  const firstId = useRef<string | undefined>(undefined);
  const focusPages = useRef(0);
  const [flash, setFlash] = useState<string | undefined>();

  // A message jumped to is outlined for a moment.
  useEffect(() => {
    if (!flash) return;
    const t = setTimeout(() => setFlash(undefined), FLASH_MS);
    return () => clearTimeout(t);
  }, [flash]);

  const markReadIfVisible = () => {
    if (p.joined && atBottom.current && document.visibilityState === 'visible') actions.markRead(roomId);
  };

  const loadOlder = () => {
    if (msgs.loaded && msgs.hasMoreBefore && !msgs.loadingOlder) void actions.loadOlder(roomId);
  };

  // After every render: follow the bottom, or keep the view still when history was added above.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const first = list[0]?.messageId;
    if (atBottom.current) el.scrollTop = el.scrollHeight;
    else if (first !== firstId.current) el.scrollTop = el.scrollHeight - fromBottom.current;
    firstId.current = first;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    // Not enough history to scroll: read further back until there is (or nothing is left).
    if (el.scrollHeight <= el.clientHeight + LOAD_OLDER_AT_PX && !p.focusMessageId) loadOlder();
  });

  useEffect(() => {
    markReadIfVisible();
  });

  useEffect(() => {
    document.addEventListener('visibilitychange', markReadIfVisible);
    return () => document.removeEventListener('visibilitychange', markReadIfVisible);
  });

  // A search result: read back until the message is loaded, then bring it into view.
  useEffect(() => {
    const id = p.focusMessageId;
    if (!id || !msgs.loaded) return;
    if (msgs.has(id)) {
      atBottom.current = false;
      document.getElementById(`msg-${id}`)?.scrollIntoView({ block: 'center' });
      if (ref.current) fromBottom.current = ref.current.scrollHeight - ref.current.scrollTop;
      setFlash(id);
      focusPages.current = 0;
      p.onFocused();
    } else if (msgs.hasMoreBefore && focusPages.current < MAX_FOCUS_PAGES) {
      if (!msgs.loadingOlder) {
        focusPages.current++;
        void actions.loadOlder(roomId);
      }
    } else {
      store.notify('That message is no longer in the room.');
      p.onFocused();
    }
  });

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    if (el.scrollTop < LOAD_OLDER_AT_PX) loadOlder();
    markReadIfVisible();
  };

  const jump = (messageId: string) => {
    if (msgs.has(messageId)) {
      atBottom.current = false;
      document.getElementById(`msg-${messageId}`)?.scrollIntoView({ block: 'center' });
      setFlash(messageId);
    }
  };

  const me = store.me.userId;
  const outgoing = [...store.outgoing.values()].filter((o) => o.roomId === roomId);
  const streams = [...store.streams.values()].filter((s) => s.roomId === roomId);
  const jobs = [...store.jobs.values()].filter((j) => j.roomId === roomId && !j.reported);
  const seen = seenLine(store, roomId, list);

  return (
    <div
      class="messages"
      ref={ref}
      onScroll={onScroll}
      role="log"
      aria-label="Messages"
      data-testid="messages"
    >
      <div class="messages__top">
        {!msgs.loaded ? (
          <p class="muted">Loading messages…</p>
        ) : msgs.hasMoreBefore ? (
          <button type="button" class="btn btn--small" disabled={msgs.loadingOlder} onClick={loadOlder}>
            {msgs.loadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        ) : (
          <p class="muted" data-testid="history-start">
            This is the beginning of the room.
          </p>
        )}
      </div>
      {list.map((m) => (
        <MessageItem
          key={m.messageId}
          m={m}
          parent={m.replyTo ? msgs.get(m.replyTo) : undefined}
          mine={m.authorId === me}
          canPin={p.canPin}
          canDelete={p.canModerate}
          focused={flash === m.messageId}
          onReply={p.onReply}
          onEdit={p.onEdit}
          onJump={jump}
        />
      ))}
      {seen && (
        <p class="seen" data-testid="seen">
          {seen}
        </p>
      )}
      {outgoing.map((o) => (
        <div key={o.clientMsgId} class={`msg msg--mine msg--pending msg--${o.state}`} data-testid="outgoing">
          <p class="msg__text">{o.content || o.attachmentNames.join(', ')}</p>
          {o.state === 'failed' ? (
            <p class="error">
              Not sent: {o.error}{' '}
              <button type="button" class="btn btn--tiny" onClick={() => actions.discard(o.clientMsgId)}>
                Dismiss
              </button>
            </p>
          ) : (
            <p class="muted">{store.conn === 'open' ? 'Sending…' : 'Waiting for the connection…'}</p>
          )}
        </div>
      ))}
      {jobs.map((j) => (
        <AgentJobCard key={j.jobId} job={j} parent={msgs.get(j.threadId)} onJump={jump} />
      ))}
      {streams.map((s) => (
        <div key={s.streamId} class="msg msg--ai msg--streaming" data-testid="ai-stream" aria-busy={!s.done}>
          <header class="msg__meta">
            <span class="msg__author">Assistant</span> <span class="tag tag--ai">AI</span>
            {!s.done && <span class="muted">writing…</span>}
          </header>
          <p class="msg__text">
            <RichText text={s.text} />
          </p>
        </div>
      ))}
    </div>
  );
}

/** "Seen" under your newest message: who else has read up to it (docs/protocol.md, delivery status). */
function seenLine(store: ChatStore, roomId: string, list: Message[]): string | undefined {
  const me = store.me.userId;
  const lastMine = list.findLast((m) => m.authorId === me && !m.isDeleted);
  const members = store.members.get(roomId);
  if (!lastMine || !members || lastMine !== list.findLast((m) => !m.isDeleted)) return undefined;
  const readers = [...members.values()].filter((m) => m.userId !== me && m.readSeq >= lastMine.seq);
  if (readers.length === 0) return undefined;
  const room = store.rooms.get(roomId);
  if (room?.type === 'direct') return 'Seen';
  const names = readers.map((r) => r.displayName);
  return `Seen by ${names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')}`;
}
