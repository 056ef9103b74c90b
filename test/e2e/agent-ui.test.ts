import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv, makeRemote, type Remote, remoteGit } from '../agents/agent-helpers.js';
import { startTestApp, type TestApp, uniqueName } from '../helpers/test-app.js';
import { BROWSER_REQUIRED, ensureWebBuilt, HAVE_BROWSER, launchBrowser, screenshot } from './browser.js';

/**
 * Agent jobs in the web client: a real Switchboard with the agent on, the scripted stand-in agent
 * (test/agents/fixtures) against a local bare repository, and Chromium. `/agent` and `/report` are
 * sent from the page; the progress card and the results are read from the page.
 */

/** Generous waits: the machine may be busy with other test files; nothing here measures time. */
const T = 20_000;
const PROJECT = 'ui-site';

const composer = (page: Page) => page.getByRole('textbox', { name: 'Message', exact: true });
/** The result message replying to the message `rootId`. */
const resultFor = (page: Page, rootId: string) =>
  page.locator(`[data-testid="message"][data-reply-to="${rootId}"]`).filter({
    has: page.getByTestId('agent-result'),
  });

async function send(page: Page, text: string): Promise<string> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  const sent = page
    .getByTestId('message')
    .filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
  await sent.waitFor({ state: 'visible', timeout: T });
  return (await sent.getAttribute('data-message-id'))!;
}

describe.skipIf(!HAVE_BROWSER && !BROWSER_REQUIRED)(
  'agent jobs in the web client',
  { timeout: 60_000 },
  () => {
    let app: TestApp;
    let remote: Remote;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      ensureWebBuilt();
      remote = makeRemote();
      app = await startTestApp('sqlite', agentEnv(remote, { AGENT_BUILD_COMMAND: 'node build.mjs' }));
      browser = await launchBrowser();
      const ctx = await browser.newContext({ baseURL: app.baseUrl, viewport: { width: 1280, height: 800 } });
      page = await ctx.newPage();
      page.setDefaultTimeout(T);
      page.on('pageerror', (err) => pageErrors.push(String(err)));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      await page.goto('/');
      await page.getByRole('button', { name: 'New here? Create an account' }).click();
      await page.getByLabel('Username').fill(uniqueName('ada'));
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('button', { name: '+ New room' }).click();
      await page.getByLabel('Room name').fill(uniqueName('builds'));
      await page.getByRole('button', { name: 'Create room' }).click();
      await composer(page).waitFor({ timeout: T });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      remote?.cleanup();
    });

    it('`/agent`: a live progress card, then the result with branch, commit, files and site link', async () => {
      // sleep=1200: the stand-in agent works a moment, printing progress, so the card is seen at work.
      const rootId = await send(
        page,
        `/agent --project=${PROJECT} --repo=${remote.url} make the header blue sleep=1200`,
      );
      const card = page.getByTestId('agent-job');
      await expect.poll(() => card.getAttribute('data-step'), { timeout: T }).toBe('agent');
      expect(await card.getAttribute('aria-busy')).toBe('true');
      await expect
        .poll(() => card.getByTestId('agent-job-log').textContent(), { timeout: T })
        .toContain('Working on: make the header blue');
      const steps = await card.getByTestId('agent-steps').locator('li').allTextContents();
      expect(steps[0]).toContain('Queued');
      expect(steps.at(-1)).toContain('Agent at work');
      expect(await card.locator('[aria-current="step"]').count()).toBe(1);
      await screenshot(page, 'agent-progress');

      const result = resultFor(page, rootId);
      await result.waitFor({ state: 'visible', timeout: T });
      await card.waitFor({ state: 'detached', timeout: T });
      expect(await result.getByTestId('reply-quote').textContent()).toContain('/agent');
      const view = result.getByTestId('agent-result');
      expect(await view.getAttribute('data-outcome')).toBe('succeeded');
      expect(await result.getByTestId('agent-summary').textContent()).toBe('Made the header blue.');
      expect(await result.getByTestId('agent-branch').textContent()).toBe(`thread-${rootId}`);
      const commit = await result.getByTestId('agent-commit').getAttribute('data-commit');
      expect(commit).toBe(remoteGit(remote, 'rev-parse', `thread-${rootId}`));
      expect(await result.getByTestId('agent-commit').textContent()).toBe(commit!.slice(0, 12));
      expect(await result.getByTestId('agent-files').textContent()).toBe('src/style.css');
      const site = result.getByTestId('agent-site');
      expect(await site.getAttribute('href')).toBe(`${app.baseUrl}/sites/${PROJECT}/`);
      expect(await site.getAttribute('rel')).toBe('noopener noreferrer');
      expect(await site.getAttribute('target')).toBe('_blank');
      expect(
        (await fetch(`${app.baseUrl}/sites/${PROJECT}/style.css`).then((r) => r.text())).trim(),
      ).toContain('header { color: blue; }');
      // The lines seen while it worked stay with the result.
      await result.getByText('Progress log').click();
      expect(await result.locator('.agent-result__log pre').textContent()).toContain('Edit: src/style.css');
      await screenshot(page, 'agent');
    });

    it('`/report`: the report file can be downloaded and previewed as text', async () => {
      const rootId = await send(page, `/report --project=${PROJECT} weekly <b>numbers</b>`);
      const result = resultFor(page, rootId);
      await result.waitFor({ state: 'visible', timeout: T });
      expect(await result.getByTestId('agent-result').getAttribute('data-outcome')).toBe('succeeded');
      const file = result.getByTestId('attachment-file');
      await expect.poll(() => file.getAttribute('href'), { timeout: T }).toBeTruthy();
      expect(await file.textContent()).toMatch(/^\s*report-agj_\w+\.md \(\d+ B\)$/);
      await result.getByRole('button', { name: 'Preview' }).click();
      const preview = result.getByTestId('attachment-preview');
      await expect.poll(() => preview.textContent(), { timeout: T }).toContain('Total: 42');
      expect(await preview.textContent()).toContain('<b>numbers</b>');
      expect(await preview.locator('b').count()).toBe(0);
    });

    it('a failed job shows its error; the phone layout keeps the result readable', async () => {
      const rootId = await send(page, `/agent --project=${PROJECT} fail`);
      const result = resultFor(page, rootId);
      await result.waitFor({ state: 'visible', timeout: T });
      expect(await result.getByTestId('agent-result').getAttribute('data-outcome')).toBe('failed');
      expect(await result.getByTestId('agent-error').textContent()).toContain('failing as asked');
      expect(await result.getByTestId('agent-site').count()).toBe(0);
      await page.setViewportSize({ width: 390, height: 844 });
      await result.scrollIntoViewIfNeeded();
      const width = await result.evaluate((el) => (el as unknown as { scrollWidth: number }).scrollWidth);
      expect(width).toBeLessThanOrEqual(390);
      await screenshot(page, 'agent-phone');
    });

    it('raised no page errors', () => {
      expect(pageErrors).toEqual([]);
    });
  },
);
