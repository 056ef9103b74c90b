import { hashPassword } from '../auth/passwords.js';
import { Errors } from '../errors/errors.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';
import { isValidUsername, toUserView, type UserView } from './user-model.js';

export interface CreateUserInput {
  username: string;
  password?: string;
  displayName?: string;
  isAdmin?: boolean;
  isBot?: boolean;
  external?: { issuer: string; subject: string };
}

export class UsersService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: CreateUserInput): Promise<UserView> {
    const username = input.username.toLowerCase();
    if (!isValidUsername(username)) {
      throw Errors.validation(
        'Username must be 3-32 characters: a-z, 0-9, _ . - (starting with a letter or digit)',
      );
    }
    if (await this.store.repos.users.findByUsername(username)) throw Errors.usernameTaken();
    const now = this.now();
    const row = {
      id: newId('usr'),
      username,
      display_name: input.displayName?.trim() || username,
      password_hash: input.password === undefined ? null : await hashPassword(input.password),
      is_admin: input.isAdmin ? 1 : 0,
      is_bot: input.isBot ? 1 : 0,
      avatar: null,
      external_issuer: input.external?.issuer ?? null,
      external_subject: input.external?.subject ?? null,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.store.repos.users.insert(row);
    } catch (err) {
      // A concurrent registration of the same name loses the race on the unique index.
      if (await this.store.repos.users.findByUsername(username)) throw Errors.usernameTaken();
      throw err;
    }
    return toUserView(row);
  }

  async get(userId: string): Promise<UserView> {
    const u = await this.store.repos.users.findById(userId);
    if (!u) throw Errors.userNotFound();
    return toUserView(u);
  }

  async getByUsername(username: string): Promise<UserView> {
    const u = await this.store.repos.users.findByUsername(username.toLowerCase());
    if (!u) throw Errors.userNotFound();
    return toUserView(u);
  }

  async search(prefix: string, limit: number, offset: number): Promise<UserView[]> {
    return (await this.store.repos.users.search(prefix, limit, offset)).map(toUserView);
  }

  async updateProfile(
    userId: string,
    patch: { displayName?: string; avatar?: string | null },
  ): Promise<UserView> {
    const set: { display_name?: string; avatar?: string | null } = {};
    if (patch.displayName !== undefined) {
      set.display_name = patch.displayName.trim();
      if (set.display_name === '') throw Errors.validation('displayName must not be blank');
    }
    if (patch.avatar !== undefined) set.avatar = patch.avatar;
    await this.store.repos.users.update(userId, set, this.now());
    return this.get(userId);
  }

  async setAdmin(userId: string, isAdmin: boolean): Promise<void> {
    await this.store.repos.users.update(userId, { is_admin: isAdmin ? 1 : 0 }, this.now());
  }

  /**
   * Throws FORBIDDEN unless the user is a server admin now. Checked in the store, not taken from the
   * token: an access token keeps the `isAdmin` it was issued with until it expires.
   */
  async requireServerAdmin(userId: string): Promise<void> {
    const u = await this.store.repos.users.findById(userId);
    if (u?.is_admin !== 1) throw Errors.forbidden('Only server admins can do that');
  }
}
