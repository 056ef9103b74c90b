import { describe, expect, it } from 'vitest';
import { defaultProjectId } from '../../src/agents/agent.service.js';
import { parseAgentCommand } from '../../src/agents/agent-commands.js';
import { scrubbedEnv } from '../../src/agents/agent-env.js';
import { formatResult } from '../../src/agents/agent-results.js';
import { buildArgv, splitTemplate } from '../../src/agents/command-template.js';
import { checkRepoUrl } from '../../src/agents/repo-url.js';
import { parseAgentLine } from '../../src/agents/stream-json.js';

describe('command templates', () => {
  it('splits like a shell, with quotes and escapes, and keeps each placeholder inside one argument', () => {
    const words = splitTemplate(`claude -p {instruction} --append "a b" 'c "d"' e\\ f --x={jobId}`);
    expect(words).toEqual([
      'claude',
      '-p',
      '{instruction}',
      '--append',
      'a b',
      'c "d"',
      'e f',
      '--x={jobId}',
    ]);
    const argv = buildArgv(words, { instruction: 'make it; rm -rf / && $(reboot) `x`', jobId: 'agj_1' });
    expect(argv[2]).toBe('make it; rm -rf / && $(reboot) `x`');
    expect(argv[7]).toBe('--x=agj_1');
  });

  it('an instruction that looks like a flag cannot become one', () => {
    const argv = buildArgv(splitTemplate('claude -p {instruction}'), {
      instruction: '--dangerously-skip-permissions',
    });
    expect(argv).toEqual(['claude', '-p', ' --dangerously-skip-permissions']);
  });

  it('refuses unclosed quotes, empty templates and unknown placeholders', () => {
    expect(() => splitTemplate('claude "oops')).toThrow(/unclosed/);
    expect(() => splitTemplate('   ')).toThrow(/empty/);
    expect(() => splitTemplate('claude {prompt}')).toThrow(/unknown placeholder \{prompt\}/);
  });
});

describe('agent output', () => {
  it('reads Claude Code stream-json: text, tool uses, the final result', () => {
    expect(parseAgentLine('{"type":"system","subtype":"init","session_id":"s"}')).toEqual({
      text: 'Agent started',
    });
    expect(
      parseAgentLine(
        JSON.stringify({
          type: 'assistant',
          message: {
            content: [
              { type: 'text', text: 'Changing the color' },
              { type: 'tool_use', name: 'Edit', input: { file_path: 'src/a.css' } },
            ],
          },
        }),
      ),
    ).toEqual({ text: 'Changing the color\nEdit: src/a.css' });
    expect(parseAgentLine('{"type":"user","message":{"content":[{"type":"tool_result"}]}}')).toEqual({});
    expect(parseAgentLine('{"type":"result","subtype":"success","is_error":false,"result":"Done."}')).toEqual(
      {
        result: 'Done.',
        isError: false,
      },
    );
    expect(parseAgentLine('{"type":"result","subtype":"error_max_turns","is_error":true}')).toMatchObject({
      isError: true,
    });
  });

  it('passes plain lines of other agent CLIs through, and ignores blank ones', () => {
    expect(parseAgentLine('Compiling...')).toEqual({ text: 'Compiling...' });
    expect(parseAgentLine('{not json')).toEqual({ text: '{not json' });
    expect(parseAgentLine('   ')).toEqual({});
  });
});

describe('repository URLs', () => {
  it('without an allowlist: https and ssh only', () => {
    expect(checkRepoUrl('https://github.com/acme/site.git', [])).toBe('https://github.com/acme/site.git');
    expect(checkRepoUrl('git@github.com:acme/site.git', [])).toBe('git@github.com:acme/site.git');
    expect(checkRepoUrl('ssh://git@host/acme/site.git', [])).toBe('ssh://git@host/acme/site.git');
    for (const bad of [
      '/srv/repo',
      'file:///srv/repo',
      'http://host/x',
      'ext::sh -c x',
      '--upload-pack=x',
      'git://h/x',
    ]) {
      expect(() => checkRepoUrl(bad, []), bad).toThrow();
    }
  });

  it('with an allowlist: only listed prefixes; never credentials in the URL', () => {
    const allow = ['https://github.com/acme/', 'file:///srv/repos/'];
    expect(checkRepoUrl('file:///srv/repos/site.git', allow)).toBe('file:///srv/repos/site.git');
    expect(() => checkRepoUrl('https://github.com/other/site.git', allow)).toThrow(/AGENT_REPO_ALLOWLIST/);
    expect(() => checkRepoUrl('https://token:x@github.com/acme/site.git', allow)).toThrow(/credentials/);
    expect(() => checkRepoUrl('https://token@github.com/acme/site.git', allow)).toThrow(/credentials/);
  });
});

describe('chat commands', () => {
  it('parses /agent and /report with their options', () => {
    expect(parseAgentCommand('/agent make the header blue')).toEqual({
      kind: 'job',
      jobKind: 'site',
      instruction: 'make the header blue',
    });
    expect(parseAgentCommand('/AGENT --project=site --repo=https://h/x.git  fix\nthe footer')).toEqual({
      kind: 'job',
      jobKind: 'site',
      instruction: 'fix\nthe footer',
      projectId: 'site',
      repoUrl: 'https://h/x.git',
    });
    expect(parseAgentCommand('/report monthly sales')).toMatchObject({
      jobKind: 'report',
      instruction: 'monthly sales',
    });
    expect(parseAgentCommand('/agent --report sales')).toMatchObject({
      jobKind: 'report',
      instruction: 'sales',
    });
    expect(parseAgentCommand('/agent')).toMatchObject({ kind: 'usage' });
    expect(parseAgentCommand('/agent --project= x')).toMatchObject({ kind: 'usage' });
    expect(parseAgentCommand('/agents x')).toBeUndefined();
    expect(parseAgentCommand('hello /agent x')).toBeUndefined();
  });

  it('names a room’s default project after the room', () => {
    expect(defaultProjectId('room_abc123')).toBe('room_abc123');
  });
});

describe('the agent’s environment', () => {
  it('drops Switchboard settings and secret-looking variables unless passed through', () => {
    const env = scrubbedEnv(
      {
        PATH: '/usr/bin',
        HOME: '/home/x',
        JWT_SECRET: 's',
        DATABASE_URL: 'postgres://u:p@h/db',
        AGENT_GIT_TOKEN: 't',
        ANTHROPIC_API_KEY: 'k',
        GITHUB_TOKEN: 'g',
        AWS_SECRET_ACCESS_KEY: 'a',
        LANG: 'C',
      },
      ['ANTHROPIC_API_KEY'],
    );
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/x', ANTHROPIC_API_KEY: 'k', LANG: 'C' });
  });
});

describe('result messages', () => {
  it('say what happened in a few lines', () => {
    const base = { jobId: 'agj_1', kind: 'site' as const, commandId: 'c', sessionId: 's' };
    expect(
      formatResult(
        {
          ...base,
          success: true,
          summary: 'Made the header blue.',
          branch: 'thread-msg_1',
          commitId: 'a'.repeat(40),
          filesChanged: ['src/style.css'],
          siteUrl: '/sites/p/',
        },
        'succeeded',
      ),
    ).toBe(
      'Done: Made the header blue.\nBranch thread-msg_1, commit aaaaaaaaaaaa\nFiles changed: src/style.css\nSite: /sites/p/',
    );
    expect(formatResult({ ...base, success: false, summary: 'x', error: 'The build failed' }, 'failed')).toBe(
      'Failed: The build failed',
    );
    expect(formatResult({ ...base, success: false, summary: 'x', interrupted: true }, 'interrupted')).toMatch(
      /^Interrupted/,
    );
  });
});
