import { useState } from 'preact/hooks';
import { navigate, roomPath } from '../router';
import { errorText } from '../state/chat-actions';
import type { RoomEntry } from '../state/chat-store';
import { useChat } from './context';
import { roomName } from './format';
import { LockIcon } from './icons';
import { PresenceDot } from './presence-dot';
import { useFocusOnMount } from './use-focus';

type Form = 'room' | 'direct' | undefined;

/** Search, new room / direct message forms, and the rooms you are in, most recently active first. */
export function Sidebar({
  currentRoomId,
  onSearch,
}: {
  currentRoomId?: string;
  onSearch: (q: string) => void;
}) {
  const { store } = useChat();
  const [q, setQ] = useState('');
  const [form, setForm] = useState<Form>();
  const rooms = [...store.rooms.values()].sort((a, b) => b.lastActivity.localeCompare(a.lastActivity));

  return (
    <aside class="sidebar" aria-label="Rooms and search">
      <search>
        <form
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            if (q.trim()) onSearch(q.trim());
          }}
        >
          <input
            type="search"
            aria-label="Search messages"
            placeholder="Search messages"
            value={q}
            maxLength={200}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
          <button type="submit" class="btn btn--small">
            Search
          </button>
        </form>
      </search>
      <div class="sidebar__actions">
        <button
          type="button"
          class="btn btn--small"
          aria-expanded={form === 'room'}
          onClick={() => setForm(form === 'room' ? undefined : 'room')}
        >
          + New room
        </button>
        <button
          type="button"
          class="btn btn--small"
          aria-expanded={form === 'direct'}
          onClick={() => setForm(form === 'direct' ? undefined : 'direct')}
        >
          + Direct message
        </button>
      </div>
      {form === 'room' && <NewRoomForm onDone={() => setForm(undefined)} />}
      {form === 'direct' && <DirectForm onDone={() => setForm(undefined)} />}
      <nav aria-label="Your rooms">
        {rooms.length === 0 ? (
          <p class="muted sidebar__empty">No rooms yet: create one, or join a public room.</p>
        ) : (
          <ul class="rooms">
            {rooms.map((r) => (
              <RoomLink key={r.roomId} room={r} current={r.roomId === currentRoomId} />
            ))}
          </ul>
        )}
      </nav>
    </aside>
  );
}

function RoomLink({ room, current }: { room: RoomEntry; current: boolean }) {
  const { store } = useChat();
  const unread = current ? 0 : (room.unreadCount ?? 0);
  const name = roomName(room);
  return (
    <li>
      <a
        class={`room-link${current ? ' room-link--current' : ''}${unread ? ' room-link--unread' : ''}`}
        href={roomPath(room.roomId)}
        aria-current={current ? 'page' : undefined}
        data-testid="room-link"
        onClick={(e) => {
          e.preventDefault();
          navigate(roomPath(room.roomId));
        }}
      >
        {room.type === 'direct' ? (
          <PresenceDot status={room.peer ? store.presence.get(room.peer.userId) : undefined} />
        ) : (
          <span class="room-link__hash" aria-hidden="true">
            {room.type === 'private' || room.type === 'group' ? <LockIcon /> : '#'}
          </span>
        )}
        <span class="room-link__name">{name}</span>
        {unread > 0 && (
          <>
            <span class="badge" data-testid="unread">
              {unread > 99 ? '99+' : unread}
            </span>
            <span class="visually-hidden"> unread</span>
          </>
        )}
      </a>
    </li>
  );
}

function NewRoomForm({ onDone }: { onDone: () => void }) {
  const { actions } = useChat();
  const [name, setName] = useState('');
  const [type, setType] = useState<'public' | 'private'>('public');
  const first = useFocusOnMount<HTMLInputElement>();
  const [error, setError] = useState('');
  return (
    <form
      class="panel-form"
      aria-label="New room"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const room = await actions.createRoom(name.trim(), type);
          onDone();
          navigate(roomPath(room.roomId));
        } catch (err) {
          setError(errorText(err));
        }
      }}
    >
      <label>
        Room name
        <input
          ref={first}
          required
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Who can join
        <select value={type} onChange={(e) => setType(e.currentTarget.value as 'public' | 'private')}>
          <option value="public">Anyone (public)</option>
          <option value="private">Invited people (private)</option>
        </select>
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn btn--primary btn--small">
        Create room
      </button>
    </form>
  );
}

function DirectForm({ onDone }: { onDone: () => void }) {
  const { actions } = useChat();
  const [username, setUsername] = useState('');
  const [error, setError] = useState('');
  const first = useFocusOnMount<HTMLInputElement>();
  return (
    <form
      class="panel-form"
      aria-label="New direct message"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const room = await actions.openDirect(username);
          onDone();
          navigate(roomPath(room.roomId));
        } catch (err) {
          setError(errorText(err));
        }
      }}
    >
      <label>
        Username
        <input
          required
          maxLength={33}
          value={username}
          ref={first}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn btn--primary btn--small">
        Open conversation
      </button>
    </form>
  );
}
