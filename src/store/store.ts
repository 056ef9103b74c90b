import type { Kysely } from 'kysely';
import { AttachmentsRepository } from '../attachments/attachments.repository.js';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository.js';
import { EventsRepository } from '../events/events.repository.js';
import type { LogTap } from '../events/log-tap.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { PollsRepository } from '../polls/polls.repository.js';
import { JoinRequestsRepository } from '../rooms/join-requests.repository.js';
import { RoomsRepository } from '../rooms/rooms.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import type { DatabaseHandle, Dialect } from './create-database.js';
import type { Database } from './database.js';

/** Every repository, bound to one connection or transaction. */
export interface Repos {
  users: UsersRepository;
  tokens: RefreshTokensRepository;
  rooms: RoomsRepository;
  messages: MessagesRepository;
  events: EventsRepository;
  polls: PollsRepository;
  joinRequests: JoinRequestsRepository;
  attachments: AttachmentsRepository;
}

function bind(db: Kysely<Database>, dialect: Dialect, taps: readonly LogTap[]): Repos {
  return {
    users: new UsersRepository(db),
    tokens: new RefreshTokensRepository(db),
    rooms: new RoomsRepository(db, dialect),
    messages: new MessagesRepository(db),
    events: new EventsRepository(db, taps),
    polls: new PollsRepository(db),
    joinRequests: new JoinRequestsRepository(db),
    attachments: new AttachmentsRepository(db),
  };
}

/** The store: repositories outside a transaction, and `tx` for work that must commit as one. */
export class Store {
  readonly repos: Repos;
  readonly dialect: Dialect;
  private readonly taps: LogTap[] = [];

  constructor(private readonly handle: DatabaseHandle) {
    this.repos = bind(handle.db, handle.dialect, this.taps);
    this.dialect = handle.dialect;
  }

  /** Every later event append (in any transaction) also runs `tap` in that transaction. */
  addLogTap(tap: LogTap): void {
    this.taps.push(tap);
  }

  get db(): Kysely<Database> {
    return this.handle.db;
  }

  tx<T>(fn: (repos: Repos) => Promise<T>): Promise<T> {
    return this.handle.db.transaction().execute((trx) => fn(bind(trx, this.handle.dialect, this.taps)));
  }

  ping(): Promise<void> {
    return this.handle.ping();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
