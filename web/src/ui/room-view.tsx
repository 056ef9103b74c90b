import { useEffect, useState } from 'preact/hooks';
import type { Message, Room } from '../api/types';
import { navigate } from '../router';
import { errorText } from '../state/chat-actions';
import { Composer, type ComposerMode } from './composer';
import { useChat } from './context';
import { roomName } from './format';
import { PinIcon } from './icons';
import { MessageList } from './message-list';
import { PinsPanel } from './pins-panel';

const MODERATORS = new Set(['owner', 'admin', 'moderator']);

export interface RoomViewProps {
  roomId: string;
  focusMessageId: string | undefined;
  onFocused: () => void;
}

/** An open room: header, messages, who is typing, and the composer (or a Join button). */
export function RoomView({ roomId, focusMessageId, onFocused }: RoomViewProps) {
  const { store, actions } = useChat();
  const [mode, setMode] = useState<ComposerMode>();
  const [pins, setPins] = useState(false);
  const [outside, setOutside] = useState<Room | undefined>();
  const room = store.rooms.get(roomId);

  // A room you are not in (a public room opened by link or from search): readable, joinable.
  useEffect(() => {
    if (room || !store.roomsLoaded) return;
    store.session
      .api<Room>('GET', `/v1/chat/rooms/${encodeURIComponent(roomId)}`)
      .then(setOutside)
      .catch((err) => store.notify(`Cannot open this room: ${errorText(err)}`));
  }, [roomId, room, store, store.roomsLoaded]);

  const shown = room ?? outside;
  const members = store.members.get(roomId);
  const online = members
    ? [...members.values()].filter((m) => (store.presence.get(m.userId) ?? 'offline') !== 'offline').length
    : 0;
  const role = room?.role ?? null;
  const canModerate = role !== null && MODERATORS.has(role);
  const canPin = !!room && (room.type === 'direct' || room.type === 'group' || canModerate);
  const typing = [...(store.typing.get(roomId)?.values() ?? [])].map((t) => t.name);
  const me = store.me.userId;
  const lastMine = store
    .roomMessages(roomId)
    .list()
    .findLast((m: Message) => m.authorId === me && !m.isDeleted && m.type === 'text');

  return (
    <section class="room" aria-labelledby="room-title">
      <header class="room__header">
        <button
          type="button"
          class="btn btn--icon room__back"
          aria-label="Back to rooms"
          onClick={() => navigate('/')}
        >
          ←
        </button>
        <div class="room__title">
          <h2 id="room-title" data-testid="room-title">
            {shown ? roomName(shown) : '…'}
          </h2>
          {shown && (
            <span class="muted room__info">
              {shown.memberCount} {shown.memberCount === 1 ? 'member' : 'members'}
              {members && ` · ${online} online`}
            </span>
          )}
        </div>
        <button type="button" class="btn btn--small" aria-expanded={pins} onClick={() => setPins(!pins)}>
          <PinIcon /> Pinned
        </button>
        {room && room.type !== 'direct' && (
          <button
            type="button"
            class="btn btn--small"
            onClick={async () => {
              try {
                await actions.leaveRoom(roomId);
                navigate('/');
              } catch (err) {
                store.notify(`Could not leave: ${errorText(err)}`);
              }
            }}
          >
            Leave
          </button>
        )}
      </header>
      {pins && <PinsPanel roomId={roomId} onClose={() => setPins(false)} />}
      <MessageList
        roomId={roomId}
        joined={!!room}
        canPin={canPin}
        canModerate={canModerate}
        focusMessageId={focusMessageId}
        onFocused={onFocused}
        onReply={(m) => setMode({ kind: 'reply', message: m })}
        onEdit={(m) => setMode({ kind: 'edit', message: m })}
      />
      <p class="typing" aria-live="polite" data-testid="typing">
        {typing.length === 1 && `${typing[0]} is typing…`}
        {typing.length === 2 && `${typing[0]} and ${typing[1]} are typing…`}
        {typing.length > 2 && 'Several people are typing…'}
      </p>
      {room ? (
        <Composer roomId={roomId} mode={mode} setMode={setMode} lastMine={lastMine} />
      ) : (
        outside && (
          <div class="joinbar">
            <span>You are reading this room as a visitor.</span>
            {(outside.type === 'public' || outside.type === 'announcement') && (
              <button
                type="button"
                class="btn btn--primary"
                onClick={() =>
                  actions.joinRoom(roomId).catch((err) => store.notify(`Could not join: ${errorText(err)}`))
                }
              >
                Join room
              </button>
            )}
          </div>
        )
      )}
    </section>
  );
}
