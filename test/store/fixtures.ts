import type { Insertable } from 'kysely';
import type { SendItem } from '../../src/messages/send-batch.js';
import type {
  MembersTable,
  MessageRow,
  RoomRow,
  RoomsTable,
  UserRow,
  UsersTable,
} from '../../src/store/database.js';
import type { Repos } from '../../src/store/store.js';

/** A fixed clock for fixture rows: tests never look at the wall clock. */
export const T0 = 1_700_000_000_000;

let counter = 0;
/** Unique id/name with a readable stem. */
export function uid(stem: string): string {
  counter += 1;
  return `${stem}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function insertUser(repos: Repos, over: Partial<Insertable<UsersTable>> = {}): Promise<UserRow> {
  const id = over.id ?? uid('usr');
  const row: UserRow = {
    id,
    username: id.toLowerCase(),
    display_name: `User ${id}`,
    password_hash: null,
    is_admin: 0,
    is_bot: 0,
    avatar: null,
    external_issuer: null,
    external_subject: null,
    created_at: T0,
    updated_at: T0,
    ...over,
  } as UserRow;
  await repos.users.insert(row);
  return row;
}

export async function insertRoom(repos: Repos, over: Partial<Insertable<RoomsTable>> = {}): Promise<RoomRow> {
  const id = over.id ?? uid('room');
  const row = {
    id,
    type: 'public',
    name: `Room ${id}`,
    description: '',
    avatar: null,
    created_by: 'usr_owner',
    created_at: T0,
    updated_at: T0,
    last_activity: T0,
    max_members: 100,
    settings: JSON.stringify({ allowInvites: true }),
    dm_key: null,
    ...over,
  };
  await repos.rooms.insert(row);
  const stored = await repos.rooms.findById(id);
  if (!stored) throw new Error(`fixture room ${id} not stored`);
  return stored;
}

export async function join(
  repos: Repos,
  roomId: string,
  userId: string,
  over: Partial<Insertable<MembersTable>> = {},
): Promise<boolean> {
  return repos.rooms.addMember({
    room_id: roomId,
    user_id: userId,
    role: 'member',
    joined_at: T0,
    muted_until: null,
    ...over,
  });
}

export function messageRow(roomId: string, authorId: string, seq: number, msgNo: number): MessageRow {
  return {
    id: uid('msg'),
    room_id: roomId,
    seq,
    msg_no: msgNo,
    author_id: authorId,
    type: 'text',
    content: `message ${msgNo}`,
    reply_to: null,
    client_msg_id: null,
    attachments: null,
    metadata: null,
    is_anonymous: 0,
    anonymous_name: null,
    is_pinned: 0,
    pinned_by: null,
    pinned_at: null,
    created_at: T0 + seq,
    edited_at: null,
    deleted_at: null,
    deleted_by: null,
  };
}

export function sendItem(roomId: string, authorId: string, over: Partial<SendItem> = {}): SendItem {
  return {
    roomId,
    authorId,
    authorName: `Name of ${authorId}`,
    authorAvatar: null,
    content: 'hello',
    type: 'text',
    replyTo: null,
    clientMsgId: null,
    attachments: null,
    metadata: null,
    now: T0 + 1000,
    ...over,
  };
}
