import { Errors } from '../errors/errors.js';

/**
 * Which repository URLs a job may name. With an allowlist, a URL must start with one of its prefixes
 * (`https://github.com/acme/`, `git@github.com:acme/`, `file:///srv/repos/`). Without one, any
 * `https://` or `ssh://`/scp-style (`git@host:path`) URL is allowed, never a local path or another
 * transport. Credentials inside the URL are always refused: they would be stored and shown.
 */
export function checkRepoUrl(url: string, allowlist: readonly string[]): string {
  const u = url.trim();
  if (u.length === 0 || u.length > 2000 || /[\s\0]/.test(u)) {
    throw Errors.validation('repoUrl must be a git URL without spaces');
  }
  if (u.startsWith('-')) throw Errors.validation('repoUrl must not start with "-"');
  const scp = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)/.test(u);
  let scheme: string;
  if (scp) scheme = 'ssh';
  else {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw Errors.validation('repoUrl must be an https://, ssh:// or git@host:path URL');
    }
    scheme = parsed.protocol.replace(/:$/, '');
    if (!['https', 'http', 'ssh', 'file'].includes(scheme)) {
      throw Errors.validation(`repoUrl: the ${scheme} transport is not allowed`);
    }
    if (parsed.password || (parsed.username && scheme !== 'ssh')) {
      throw Errors.validation(
        'repoUrl must not carry credentials; the server pushes with its own (AGENT_GIT_TOKEN)',
      );
    }
  }
  if (allowlist.length > 0) {
    if (!allowlist.some((prefix) => u.startsWith(prefix))) {
      throw Errors.validation('repoUrl is not in this server’s allowed repositories (AGENT_REPO_ALLOWLIST)');
    }
  } else if (scheme !== 'https' && scheme !== 'ssh') {
    throw Errors.validation(
      'repoUrl must be https:// or ssh (local paths and http need AGENT_REPO_ALLOWLIST to list them)',
    );
  }
  return u;
}

/** The git transports git may use at all (also for submodules): GIT_ALLOW_PROTOCOL. */
export const GIT_ALLOWED_PROTOCOLS = 'https:http:ssh:file';
