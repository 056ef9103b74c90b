import { useChat } from './context';

export function Notices() {
  const { store } = useChat();
  if (store.notices.length === 0) return null;
  return (
    <div class="notices" role="alert">
      {store.notices.map((n) => (
        <div class="notice" key={n.id}>
          <span>{n.text}</span>
          <button
            type="button"
            class="btn btn--icon"
            aria-label="Dismiss"
            onClick={() => store.dismiss(n.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
