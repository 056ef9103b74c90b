import { useEffect, useState } from 'preact/hooks';
import type { Room } from '../api/types';
import { navigate, roomPath } from '../router';
import { errorText } from '../state/chat-actions';
import { useChat } from './context';

/** No room open: public rooms to join. */
export function Home() {
  const { store, actions } = useChat();
  const [rooms, setRooms] = useState<Room[] | undefined>();
  const [error, setError] = useState('');

  useEffect(() => {
    actions
      .publicRooms()
      .then(setRooms)
      .catch((err) => setError(errorText(err)));
  }, [actions]);

  const join = async (roomId: string) => {
    try {
      await actions.joinRoom(roomId);
      navigate(roomPath(roomId));
    } catch (err) {
      setError(errorText(err));
    }
  };

  const open = rooms?.filter((r) => !store.rooms.has(r.roomId)) ?? [];
  return (
    <section class="home" aria-labelledby="home-title">
      <h2 id="home-title">Welcome, {store.me.displayName}</h2>
      <p class="muted">Pick one of your rooms, create one, or join a public room.</p>
      <h3>Public rooms</h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rooms === undefined ? (
        <p class="muted">Loading…</p>
      ) : open.length === 0 ? (
        <p class="muted">No public rooms to join right now.</p>
      ) : (
        <ul class="public-rooms">
          {open.map((r) => (
            <li key={r.roomId} class="public-room" data-testid="public-room">
              <div>
                <strong># {r.name}</strong>
                <span class="muted">
                  {' '}
                  · {r.memberCount} {r.memberCount === 1 ? 'member' : 'members'}
                </span>
                {r.description && <p class="muted">{r.description}</p>}
              </div>
              <button type="button" class="btn btn--small" onClick={() => join(r.roomId)}>
                Join
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
