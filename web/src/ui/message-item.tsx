import { useState } from 'preact/hooks';
import type { Message } from '../api/types';
import { AgentResultView, agentResultOf } from './agent-views';
import { AttachmentView } from './attachment-view';
import { useChat } from './context';
import { snippet, timeOf } from './format';
import { PinIcon } from './icons';
import { RichText } from './rich-text';
import { useFocusOnMount } from './use-focus';

/** Messages the server writes, shown apart from people's. */
const KINDS: Record<string, string> = { ai_response: 'ai', agent_result: 'agent', system: 'system' };

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '👀'];

export interface MessageItemProps {
  m: Message;
  parent: Message | undefined;
  mine: boolean;
  canPin: boolean;
  canDelete: boolean;
  focused: boolean;
  onReply: (m: Message) => void;
  onEdit: (m: Message) => void;
  onJump: (messageId: string) => void;
}

/** One message: author and time, reply quote, text (as text), files, reactions and its actions. */
export function MessageItem(p: MessageItemProps) {
  const { m } = p;
  const { store, actions } = useChat();
  const [picker, setPicker] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const me = store.me.userId;
  const kind = KINDS[m.type] ?? (p.mine ? 'mine' : 'other');
  const reactions = Object.entries(m.reactions).filter(([, users]) => users.length > 0);
  const classes = ['msg', `msg--${kind}`, m.isDeleted && 'msg--deleted', p.focused && 'msg--focus'];
  const agentResult = m.type === 'agent_result' && !m.isDeleted ? agentResultOf(m) : undefined;

  return (
    <article
      class={classes.filter(Boolean).join(' ')}
      id={`msg-${m.messageId}`}
      data-testid="message"
      data-message-id={m.messageId}
      data-seq={m.seq}
      data-reply-to={m.replyTo ?? undefined}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          setPicker(false);
          setConfirming(false);
        }
      }}
    >
      <header class="msg__meta">
        <span class="msg__author">{m.authorName}</span>
        {kind === 'ai' && <span class="tag tag--ai">AI</span>}
        {kind === 'agent' && <span class="tag tag--ai">Agent</span>}
        <time dateTime={m.timestamp}>{timeOf(m.timestamp)}</time>
        {m.isEdited && !m.isDeleted && (
          <span class="muted" data-testid="edited">
            (edited)
          </span>
        )}
        {m.isPinned && (
          <span class="msg__pin" data-testid="pinned">
            <PinIcon /> Pinned
          </span>
        )}
      </header>
      {m.replyTo && (
        <button
          type="button"
          class="msg__quote"
          data-testid="reply-quote"
          onClick={() => p.onJump(m.replyTo!)}
        >
          <span aria-hidden="true">↪ </span>
          {p.parent
            ? `${p.parent.authorName}: ${p.parent.isDeleted ? 'deleted message' : snippet(p.parent.content, 60) || 'attachment'}`
            : 'Reply to an earlier message'}
        </button>
      )}
      {m.isDeleted ? (
        <p class="msg__text muted" data-testid="deleted">
          This message was deleted.
        </p>
      ) : agentResult ? (
        <AgentResultView r={agentResult} log={store.jobs.get(agentResult.jobId)?.lines} />
      ) : (
        m.content && (
          <p class="msg__text" data-testid="message-text">
            <RichText text={m.content} />
          </p>
        )
      )}
      {!m.isDeleted && (m.attachments?.length ?? 0) > 0 && (
        <div class="msg__files">
          {m.attachments!.map((a) => (
            <AttachmentView key={a.id} a={a} />
          ))}
        </div>
      )}
      {reactions.length > 0 && (
        <div class="reactions">
          {reactions.map(([emoji, users]) => (
            <button
              type="button"
              key={emoji}
              class="reaction"
              data-testid="reaction"
              aria-pressed={users.includes(me)}
              aria-label={`${emoji} ${users.length}`}
              onClick={() => actions.react(m, emoji)}
            >
              {emoji} <span>{users.length}</span>
            </button>
          ))}
        </div>
      )}
      {!m.isDeleted && kind !== 'system' && (
        <div class="msg__actions" role="toolbar" aria-label="Message actions">
          <button type="button" class="btn btn--tiny" onClick={() => p.onReply(m)}>
            Reply
          </button>
          <button
            type="button"
            class="btn btn--tiny"
            aria-expanded={picker}
            onClick={() => setPicker(!picker)}
          >
            React
          </button>
          {p.mine && m.type === 'text' && (
            <button type="button" class="btn btn--tiny" onClick={() => p.onEdit(m)}>
              Edit
            </button>
          )}
          {p.canPin && (
            <button type="button" class="btn btn--tiny" onClick={() => actions.pin(m)}>
              {m.isPinned ? 'Unpin' : 'Pin'}
            </button>
          )}
          {(p.mine || p.canDelete) &&
            (confirming ? (
              <span class="confirm">
                Delete?{' '}
                <button
                  type="button"
                  class="btn btn--tiny btn--danger"
                  onClick={() => {
                    setConfirming(false);
                    void actions.remove(m);
                  }}
                >
                  Yes, delete
                </button>
                <NoButton onClick={() => setConfirming(false)} />
              </span>
            ) : (
              <button type="button" class="btn btn--tiny" onClick={() => setConfirming(true)}>
                Delete
              </button>
            ))}
        </div>
      )}
      {picker && (
        <fieldset class="picker">
          <legend class="visually-hidden">Pick a reaction</legend>
          {QUICK_REACTIONS.map((emoji) => (
            <button
              type="button"
              key={emoji}
              class="btn btn--tiny"
              aria-label={`React with ${emoji}`}
              onClick={() => {
                setPicker(false);
                void actions.react(m, emoji);
              }}
            >
              {emoji}
            </button>
          ))}
        </fieldset>
      )}
    </article>
  );
}

/** "No" gets the focus when the delete question appears, so Enter or Esc answers it safely. */
function NoButton({ onClick }: { onClick: () => void }) {
  const ref = useFocusOnMount<HTMLButtonElement>();
  return (
    <button type="button" class="btn btn--tiny" ref={ref} onClick={onClick}>
      No
    </button>
  );
}
