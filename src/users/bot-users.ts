import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';

export interface BotIdentity {
  userId: string;
  username: string;
  displayName: string;
}

/**
 * A server feature's user (the AI assistant, the agent): a bot without a password, so nobody can
 * log in as it, created on first use and renamed when its configured display name changes. Safe to
 * call from several nodes at once. Throws when the name belongs to a user who is not a bot;
 * `setting` names the env variable to change in that message.
 */
export async function ensureBotUser(
  store: Store,
  want: { username: string; displayName: string; setting: string },
  now: number,
): Promise<BotIdentity> {
  const users = store.repos.users;
  for (let tries = 0; tries < 3; tries++) {
    const existing = await users.findByUsername(want.username);
    if (existing) {
      if (existing.is_bot !== 1) {
        throw new Error(
          `${want.setting} "${want.username}" belongs to a user who is not a bot; choose another name`,
        );
      }
      if (existing.display_name !== want.displayName) {
        await users.update(existing.id, { display_name: want.displayName }, now);
      }
      return { userId: existing.id, username: existing.username, displayName: want.displayName };
    }
    try {
      const id = newId('usr');
      await users.insert({
        id,
        username: want.username,
        display_name: want.displayName,
        password_hash: null,
        is_admin: 0,
        is_bot: 1,
        avatar: null,
        external_issuer: null,
        external_subject: null,
        created_at: now,
        updated_at: now,
      });
      return { userId: id, username: want.username, displayName: want.displayName };
    } catch {
      // Another node created it at the same moment: read it back.
    }
  }
  throw new Error(`could not create the bot user "${want.username}"`);
}
