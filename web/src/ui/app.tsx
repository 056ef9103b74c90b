import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { Session } from '../api/session';
import { navigate, useRoute } from '../router';
import { ChatActions, errorText } from '../state/chat-actions';
import { ChatStore } from '../state/chat-store';
import { useStore } from '../state/use-store';
import { ConnectionStatus } from './connection-status';
import { ChatContext } from './context';
import { Home } from './home';
import { Login } from './login';
import { Notices } from './notices';
import { RoomView } from './room-view';
import { SearchPanel } from './search-panel';
import { Sidebar } from './sidebar';

export function App() {
  const [session, setSession] = useState(() => Session.restore());
  const signedOut = useCallback(() => setSession(undefined), []);
  if (!session) return <Login onSignedIn={setSession} />;
  return <ChatScreen key={session.user.userId} session={session} onSignOut={signedOut} />;
}

/** Where a search result leads: the room, scrolled to the message. */
export interface Focus {
  roomId: string;
  messageId: string;
}

function ChatScreen({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const store = useMemo(() => new ChatStore(session), [session]);
  const actions = useMemo(() => new ChatActions(store), [store]);
  const chat = useMemo(() => ({ store, actions }), [store, actions]);
  const route = useRoute();
  const [query, setQuery] = useState<string | undefined>();
  const [focus, setFocus] = useState<Focus | undefined>();
  useStore(store);

  useEffect(() => {
    session.onExpired = onSignOut;
    store.start().catch((err) => store.notify(`Could not load your rooms: ${errorText(err)}`));
    return () => store.stop();
  }, [store, session, onSignOut]);

  const roomId = route.name === 'room' ? route.roomId : undefined;
  let unread = 0;
  for (const r of store.rooms.values()) if (r.roomId !== roomId) unread += r.unreadCount ?? 0;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Switchboard` : 'Switchboard';
  }, [unread]);
  useEffect(() => {
    if (roomId) void actions.openRoom(roomId);
    else store.currentRoomId = undefined;
  }, [roomId, actions, store]);

  const signOut = async () => {
    store.stop();
    await session.logout();
    navigate('/', true);
    onSignOut();
  };

  const openResult = (f: Focus) => {
    setFocus(f);
    setQuery(undefined);
    navigate(`/rooms/${encodeURIComponent(f.roomId)}`);
  };

  return (
    <ChatContext.Provider value={chat}>
      <div class={`shell ${roomId || query ? 'shell--detail' : 'shell--list'}`}>
        <header class="topbar">
          <a
            class="topbar__brand"
            href="/"
            onClick={(e) => {
              e.preventDefault();
              setQuery(undefined);
              navigate('/');
            }}
          >
            Switchboard
          </a>
          <ConnectionStatus />
          <span class="topbar__user" title={`@${store.me.username}`}>
            {store.me.displayName}
          </span>
          <button type="button" class="btn btn--small" onClick={signOut}>
            Sign out
          </button>
        </header>
        <Sidebar currentRoomId={roomId} onSearch={setQuery} />
        <main class="main" id="main">
          {query !== undefined ? (
            <SearchPanel query={query} onClose={() => setQuery(undefined)} onOpen={openResult} />
          ) : roomId ? (
            <RoomView
              key={roomId}
              roomId={roomId}
              focusMessageId={focus?.roomId === roomId ? focus.messageId : undefined}
              onFocused={() => setFocus(undefined)}
            />
          ) : (
            <Home />
          )}
        </main>
        <Notices />
      </div>
    </ChatContext.Provider>
  );
}
