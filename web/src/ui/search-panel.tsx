import { useEffect, useState } from 'preact/hooks';
import type { SearchResult } from '../api/types';
import { errorText } from '../state/chat-actions';
import type { Focus } from './app';
import { useChat } from './context';
import { roomName, timeOf } from './format';
import { Highlight } from './rich-text';

/** Results of GET /v1/chat/search, best first; choosing one opens its room at the message. */
export function SearchPanel({
  query,
  onClose,
  onOpen,
}: {
  query: string;
  onClose: () => void;
  onOpen: (f: Focus) => void;
}) {
  const { store, actions } = useChat();
  const [results, setResults] = useState<SearchResult[] | undefined>();
  const [error, setError] = useState('');

  useEffect(() => {
    setResults(undefined);
    setError('');
    actions
      .search(query)
      .then(setResults)
      .catch((err) => setError(errorText(err)));
  }, [query, actions]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);

  return (
    <section class="search-panel" aria-labelledby="search-title" data-testid="search-panel">
      <header class="room__header">
        <h2 id="search-title">Results for “{query}”</h2>
        <button type="button" class="btn btn--small" onClick={onClose}>
          Close
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {results === undefined && !error && <p class="muted">Searching…</p>}
      {results?.length === 0 && <p class="muted">No messages found.</p>}
      {results && results.length > 0 && (
        <ul class="results">
          {results.map((r) => {
            const room = store.rooms.get(r.message.roomId);
            return (
              <li key={r.message.messageId}>
                <button
                  type="button"
                  class="result"
                  data-testid="search-result"
                  onClick={() => onOpen({ roomId: r.message.roomId, messageId: r.message.messageId })}
                >
                  <span class="result__meta">
                    <strong>{room ? roomName(room) : 'Public room'}</strong> · {r.message.authorName} ·{' '}
                    {timeOf(r.message.timestamp)}
                  </span>
                  <span class="result__text">
                    <Highlight html={r.highlight} />
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
