import { useEffect, useState } from 'preact/hooks';
import type { Message } from '../api/types';
import { errorText } from '../state/chat-actions';
import { useChat } from './context';
import { snippet, timeOf } from './format';

/** The room's pinned messages (GET /pins), read again whenever a pin changes. */
export function PinsPanel({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const { store, actions } = useChat();
  const [pins, setPins] = useState<Message[] | undefined>();
  const [error, setError] = useState('');
  const pinnedNow = store
    .roomMessages(roomId)
    .list()
    .filter((m) => m.isPinned)
    .map((m) => m.messageId)
    .join();

  // pinnedNow is the trigger to read again.
  useEffect(() => {
    actions
      .pins(roomId)
      .then(setPins)
      .catch((err) => setError(errorText(err)));
  }, [roomId, actions, pinnedNow]);

  return (
    <section class="pins" aria-label="Pinned messages" data-testid="pins">
      <header class="pins__header">
        <h3>Pinned messages</h3>
        <button type="button" class="btn btn--tiny" onClick={onClose}>
          Close
        </button>
      </header>
      {error && <p class="error">{error}</p>}
      {pins === undefined ? (
        <p class="muted">Loading…</p>
      ) : pins.length === 0 ? (
        <p class="muted">Nothing pinned yet.</p>
      ) : (
        <ul>
          {pins.map((m) => (
            <li key={m.messageId}>
              <strong>{m.authorName}</strong> <span class="muted">{timeOf(m.timestamp)}</span>
              <p>{snippet(m.content, 140)}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
