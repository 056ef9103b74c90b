import { iso } from '../shared/json.js';
import type { UserRow } from '../store/database.js';

export interface UserView {
  userId: string;
  username: string;
  displayName: string;
  avatar: string | null;
  isAdmin: boolean;
  isBot: boolean;
  createdAt: string;
}

export function toUserView(u: UserRow): UserView {
  return {
    userId: u.id,
    username: u.username,
    displayName: u.display_name,
    avatar: u.avatar,
    isAdmin: u.is_admin === 1,
    isBot: u.is_bot === 1,
    createdAt: iso(u.created_at),
  };
}

/** Lower-case letters, digits, `_ . -`; 3 to 32 characters, starting with a letter or digit. */
export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{2,31}$';
const USERNAME_RE = new RegExp(USERNAME_PATTERN);

/** What a client may type: any case; names are stored and compared lower-case. */
export const USERNAME_INPUT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$';

export function isValidUsername(name: string): boolean {
  return USERNAME_RE.test(name);
}

/**
 * Turns an arbitrary external name (an email, "Jane Doe") into a valid username stem: at most 25
 * characters, so a `-xxxxxx` collision suffix still fits the 32-character limit.
 */
export function usernameStem(raw: string): string {
  let s = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/@.*$/, '')
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 25);
  while (s.length < 3) s += '_';
  return s.replace(/^_/, 'u');
}
