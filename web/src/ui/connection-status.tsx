import { useChat } from './context';

const LABELS = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
} as const;

/** The socket's state, always visible; also how many sends wait for the connection. */
export function ConnectionStatus() {
  const { store } = useChat();
  const waiting = [...store.outgoing.values()].filter((o) => o.state === 'sending').length;
  return (
    <output
      class={`conn conn--${store.conn}`}
      data-testid="connection"
      data-state={store.conn}
      aria-live="polite"
    >
      <span class="conn__dot" aria-hidden="true" />
      {LABELS[store.conn]}
      {waiting > 0 && store.conn !== 'open' && <span class="conn__queue"> · {waiting} waiting</span>}
    </output>
  );
}
