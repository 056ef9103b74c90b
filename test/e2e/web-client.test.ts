import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, uniqueName } from '../helpers/test-app.js';
import { BROWSER_REQUIRED, ensureWebBuilt, HAVE_BROWSER, launchBrowser, screenshot } from './browser.js';

/** Generous waits: the machine may be busy with other test files; nothing here measures time. */
const T = 20_000;
const PASSWORD = 'correct horse battery';

const conn = (page: Page) => page.getByTestId('connection');
const composer = (page: Page) => page.getByRole('textbox', { name: 'Message', exact: true });
/** The message whose text is exactly `text`. */
const msg = (page: Page, text: string) =>
  page
    .getByTestId('message')
    .filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
/** The DOM side of an <img> (the root tsconfig has no DOM lib). */
interface LoadedImage {
  naturalWidth: number;
}

const texts = (page: Page) => page.getByTestId('message-text').allTextContents();

async function connState(page: Page, state: string): Promise<void> {
  await expect.poll(() => conn(page).getAttribute('data-state'), { timeout: T }).toBe(state);
}

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

async function seen(loc: Locator): Promise<void> {
  await loc.waitFor({ state: 'visible', timeout: T });
}

/** Hovers a message (its actions show on hover or focus) and presses one of them. */
async function act(page: Page, text: string, action: string): Promise<void> {
  const m = msg(page, text);
  await m.hover();
  await m.getByRole('button', { name: action, exact: true }).click();
}

async function signUp(page: Page, username: string): Promise<void> {
  await page.goto('/');
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await connState(page, 'open');
}

describe.skipIf(!HAVE_BROWSER && !BROWSER_REQUIRED)('web client in Chromium', { timeout: 120_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let ctxA: BrowserContext;
  let ctxB: BrowserContext;
  let alice: Page;
  let bob: Page;
  const aliceName = uniqueName('alice');
  const bobName = uniqueName('bob');
  const roomName = uniqueName('lounge');
  const dialogs: string[] = [];
  /** Uncaught exceptions, and console errors other than the refused connections of going offline. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    app = await startTestApp('sqlite');
    browser = await launchBrowser();
    const viewport = { width: 1280, height: 800 };
    ctxA = await browser.newContext({ baseURL: app.baseUrl, viewport });
    ctxB = await browser.newContext({ baseURL: app.baseUrl, viewport });
    alice = await ctxA.newPage();
    bob = await ctxB.newPage();
    for (const p of [alice, bob]) {
      p.setDefaultTimeout(T);
      p.on('pageerror', (err) => pageErrors.push(String(err)));
      p.on('console', (m) => {
        if (m.type() === 'error' && !m.text().includes('ERR_INTERNET_DISCONNECTED'))
          pageErrors.push(m.text());
      });
      p.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('serves the sign-in page; both users sign up and connect', async () => {
    const res = await alice.goto('/');
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await seen(alice.getByRole('button', { name: 'Sign in' }));
    await screenshot(alice, 'sign-in');
    await signUp(alice, aliceName);
    await signUp(bob, bobName);
    await expect.poll(() => conn(alice).textContent()).toBe('Connected');
  });

  it('alice creates a public room, bob joins it from the list', async () => {
    await alice.getByRole('button', { name: '+ New room' }).click();
    await alice.getByLabel('Room name').fill(roomName);
    await alice.getByRole('button', { name: 'Create room' }).click();
    await expect.poll(() => alice.getByTestId('room-title').textContent(), { timeout: T }).toBe(roomName);

    await bob.reload();
    const row = bob.getByTestId('public-room').filter({ hasText: roomName });
    await row.getByRole('button', { name: 'Join' }).click();
    await expect.poll(() => bob.getByTestId('room-title').textContent(), { timeout: T }).toBe(roomName);
    await expect
      .poll(() => alice.locator('.room__info').textContent(), { timeout: T })
      .toContain('2 members');
  });

  it('they chat both ways live, with typing indicators', async () => {
    await send(alice, 'Hello Bob');
    await seen(msg(bob, 'Hello Bob'));

    await composer(bob).fill('Hi Ali');
    await expect.poll(() => alice.getByTestId('typing').textContent(), { timeout: T }).toContain(bobName);
    await composer(bob).fill('Hi Alice');
    await composer(bob).press('Enter');
    await seen(msg(alice, 'Hi Alice'));
    await expect.poll(() => alice.getByTestId('typing').textContent(), { timeout: T }).toBe('');
    // Shift+Enter makes a new line; Enter sends both lines as one message.
    await composer(alice).fill('line one');
    await composer(alice).press('Shift+Enter');
    await composer(alice).pressSequentially('line two');
    await composer(alice).press('Enter');
    await seen(msg(bob, 'line one\nline two'));
  });

  it('reactions, replies, edits, deletes and pins reach the other side', async () => {
    await act(bob, 'Hello Bob', 'React');
    await bob.getByRole('button', { name: 'React with 👍' }).click();
    await expect
      .poll(() => msg(alice, 'Hello Bob').getByTestId('reaction').textContent(), { timeout: T })
      .toBe('👍 1');

    // Esc leaves reply mode; then a real reply.
    await act(alice, 'Hi Alice', 'Reply');
    await seen(alice.getByTestId('composer-mode'));
    await composer(alice).press('Escape');
    await alice.getByTestId('composer-mode').waitFor({ state: 'detached', timeout: T });
    await act(alice, 'Hi Alice', 'Reply');
    await send(alice, 'Replying here');
    await expect
      .poll(() => msg(bob, 'Replying here').getByTestId('reply-quote').textContent(), { timeout: T })
      .toContain('Hi Alice');

    await act(alice, 'Replying here', 'Edit');
    await expect.poll(() => composer(alice).count()).toBe(0); // the box is now labelled "Edit message"
    const edit = alice.getByRole('textbox', { name: 'Edit message' });
    await expect.poll(() => edit.inputValue(), { timeout: T }).toBe('Replying here');
    await edit.fill('Replying here (fixed)');
    await edit.press('Enter');
    await seen(msg(bob, 'Replying here (fixed)').getByTestId('edited'));
    expect(await msg(bob, 'Replying here').count()).toBe(0);

    await send(alice, 'delete me');
    await seen(msg(bob, 'delete me'));
    await act(alice, 'delete me', 'Delete');
    await alice.getByRole('button', { name: 'Yes, delete' }).click();
    await expect.poll(() => msg(bob, 'delete me').count(), { timeout: T }).toBe(0);
    expect(await bob.getByTestId('deleted').count()).toBeGreaterThanOrEqual(1);

    await act(alice, 'Hello Bob', 'Pin');
    await seen(msg(bob, 'Hello Bob').getByTestId('pinned'));
    await bob.getByRole('button', { name: 'Pinned', exact: true }).click();
    await expect.poll(() => bob.getByTestId('pins').textContent(), { timeout: T }).toContain('Hello Bob');
    await bob.getByRole('button', { name: 'Pinned', exact: true }).click();
  });

  it('an uploaded image shows as a preview on both sides', async () => {
    const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#3366ff' } })
      .png()
      .toBuffer();
    await alice
      .getByTestId('file-input')
      .setInputFiles({ name: 'blue.png', mimeType: 'image/png', buffer: png });
    const staged = alice.getByTestId('staged-file');
    await seen(staged);
    await expect.poll(() => staged.textContent(), { timeout: T }).not.toContain('uploading');
    await send(alice, 'look at this');
    for (const page of [alice, bob]) {
      const img = msg(page, 'look at this').getByTestId('attachment-image').locator('img');
      await seen(img);
      expect(await img.getAttribute('alt')).toBe('blue.png');
      await expect
        .poll(() => img.evaluate((i) => (i as unknown as LoadedImage).naturalWidth), { timeout: T })
        .toBeGreaterThan(0);
    }
  });

  it('message text is rendered as text, never as HTML', async () => {
    const attack = '<img src=x onerror="window.__pwned=1;alert(1)"> <b>bold</b> <script>alert(2)</script>';
    await send(alice, attack);
    await seen(msg(bob, attack));
    expect(await msg(bob, attack).locator('img, b, script').count()).toBe(0);
    expect(await bob.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });

  it('search finds a message and opens it in its room', async () => {
    await send(alice, 'I like pineapple pizza');
    await seen(msg(bob, 'I like pineapple pizza'));
    await bob.getByLabel('Search messages').fill('pineapple');
    await bob.getByRole('button', { name: 'Search', exact: true }).click();
    const result = bob.getByTestId('search-result').filter({ hasText: 'pineapple' });
    await seen(result);
    expect(await result.locator('mark').textContent()).toBe('pineapple');
    await result.click();
    await seen(bob.locator('.msg--focus').getByText('I like pineapple pizza', { exact: true }));
  });

  it('AI answers stream in live, then land as a distinct message', async () => {
    await send(alice, 'what is two plus two?');
    await seen(msg(bob, 'what is two plus two?'));
    const question = await msg(bob, 'what is two plus two?').getAttribute('data-message-id');
    const roomId = decodeURIComponent(new URL(bob.url()).pathname.split('/').pop()!);
    // Frames as the assistant's stream publisher sends them (src/ai/stream-publisher.ts).
    let index = 0;
    const frame = (extra: Record<string, unknown>) =>
      app.sb.bus.publishEphemeral(
        { roomId },
        {
          type: 'ai_stream',
          roomId,
          streamId: 'job_e2e',
          replyTo: question,
          index: index++,
          delta: '',
          ...extra,
        },
      );
    frame({});
    frame({ delta: 'Two plus ' });
    const live = bob.getByTestId('ai-stream');
    await expect.poll(() => live.locator('.msg__text').textContent(), { timeout: T }).toBe('Two plus ');
    frame({ delta: 'two is four.' });
    await expect
      .poll(() => live.locator('.msg__text').textContent(), { timeout: T })
      .toBe('Two plus two is four.');
    const author = await alice.evaluate(() => {
      const storage = (globalThis as unknown as { localStorage: { getItem(k: string): string } })
        .localStorage;
      return JSON.parse(storage.getItem('switchboard.auth')).user.userId as string;
    });
    const answer = await app.sb.messages.postAsServer(roomId, author, {
      content: 'Two plus two is four.',
      type: 'ai_response',
      replyTo: question,
    });
    frame({ done: true, status: 'answered', messageId: answer.message.messageId });
    const landed = msg(bob, 'Two plus two is four.');
    await seen(landed);
    await live.waitFor({ state: 'detached', timeout: T });
    expect(await landed.getAttribute('class')).toContain('msg--ai');
    expect(await landed.locator('.tag--ai').textContent()).toBe('AI');
    expect(await landed.getByTestId('reply-quote').textContent()).toContain('what is two plus two?');
    await screenshot(bob, 'desktop-chat');
  });

  it('unread counts while away from the room; "seen" once bob reads it', async () => {
    await bob.getByRole('link', { name: 'Switchboard' }).click();
    await send(alice, 'are you there?');
    const link = bob.getByTestId('room-link').filter({ hasText: roomName });
    await expect.poll(() => link.getByTestId('unread').textContent(), { timeout: T }).toBe('1');
    expect(await alice.getByTestId('seen').count()).toBe(0);
    await link.click();
    await seen(msg(bob, 'are you there?'));
    expect(await link.getByTestId('unread').count()).toBe(0);
    await expect
      .poll(() => alice.getByTestId('seen').textContent(), { timeout: T })
      .toBe(`Seen by ${bobName}`);
  });

  it('direct messages by username, with presence', async () => {
    await bob.getByRole('button', { name: '+ Direct message' }).click();
    await bob.getByLabel('Username').fill(aliceName);
    await bob.getByRole('button', { name: 'Open conversation' }).click();
    await expect.poll(() => bob.getByTestId('room-title').textContent(), { timeout: T }).toBe(aliceName);
    const dm = bob.getByTestId('room-link').filter({ hasText: aliceName });
    await expect
      .poll(() => dm.getByTestId('presence').getAttribute('data-status'), { timeout: T })
      .toBe('online');
    await send(bob, 'psst, alice');
    const aliceDm = alice.getByTestId('room-link').filter({ hasText: bobName });
    await expect.poll(() => aliceDm.getByTestId('unread').textContent(), { timeout: T }).toBe('1');
    await aliceDm.click();
    await seen(msg(alice, 'psst, alice'));
    await expect.poll(() => bob.getByTestId('seen').textContent(), { timeout: T }).toBe('Seen');
  });

  it('scrolls back through history page by page', async () => {
    const carol = await app.newUser();
    const room = await app.newRoom(carol, { name: uniqueName('history') });
    const all = Array.from({ length: 120 }, (_, i) => `history ${String(i + 1).padStart(3, '0')}`);
    for (const content of all) {
      const r = await app.api('POST', `/v1/chat/rooms/${room.roomId}/messages`, {
        token: carol.token,
        body: { content },
      });
      expect(r.status).toBe(201);
    }
    await bob.getByRole('link', { name: 'Switchboard' }).click();
    await bob
      .getByTestId('public-room')
      .filter({ hasText: room.name })
      .getByRole('button', { name: 'Join' })
      .click();
    await seen(msg(bob, 'history 120'));
    expect(await msg(bob, 'history 001').count()).toBe(0);
    const list = bob.getByTestId('messages');
    await expect
      .poll(
        async () => {
          await list.evaluate((el) => {
            el.scrollTop = 0;
          });
          return bob.getByTestId('history-start').count();
        },
        { timeout: T, interval: 250 },
      )
      .toBe(1);
    const history = (await texts(bob)).filter((t) => t.startsWith('history '));
    expect(history).toEqual(all);
  });

  it('bob drops off the network, alice keeps talking; bob comes back to all of it, once, in order', async () => {
    await bob.getByTestId('room-link').filter({ hasText: roomName }).click();
    await seen(msg(bob, 'are you there?'));
    await ctxB.setOffline(true);
    await connState(bob, 'reconnecting');
    await send(bob, 'sent while offline');
    await seen(bob.getByTestId('outgoing').getByText('Waiting for the connection…'));

    const offline = ['offline 1', 'offline 2', 'offline 3', 'offline 4', 'offline 5'];
    await alice.getByTestId('room-link').filter({ hasText: roomName }).click();
    for (const t of offline) {
      await send(alice, t);
      await seen(msg(alice, t));
    }
    expect(await msg(bob, 'offline 1').count()).toBe(0);

    await ctxB.setOffline(false);
    await connState(bob, 'open');
    await expect
      .poll(async () => (await texts(bob)).filter((t) => t.startsWith('offline ')), { timeout: T })
      .toEqual(offline);
    await seen(msg(alice, 'sent while offline'));
    await seen(msg(bob, 'sent while offline'));
    expect(await bob.getByTestId('outgoing').count()).toBe(0);
    // Exactly once on both sides, also after the socket's replay settles.
    for (const page of [alice, bob]) {
      const all = await texts(page);
      expect(all.filter((t) => t === 'sent while offline')).toHaveLength(1);
      expect(all.filter((t) => t.startsWith('offline '))).toEqual(offline);
    }
    await screenshot(alice, 'desktop-alice');
    await screenshot(bob, 'desktop-bob');
  });

  it('works at phone width: one column, room list behind a back button', async () => {
    await bob.setViewportSize({ width: 390, height: 844 });
    await seen(bob.getByRole('button', { name: 'Back to rooms' }));
    expect(await bob.getByRole('complementary', { name: 'Rooms and search' }).isVisible()).toBe(false);
    await seen(msg(bob, 'offline 5'));
    await screenshot(bob, 'phone-room');
    await bob.getByRole('button', { name: 'Back to rooms' }).click();
    await seen(bob.getByRole('navigation', { name: 'Your rooms' }));
    await screenshot(bob, 'phone-rooms');
  });

  it('a reload keeps the session and the room', async () => {
    await alice.reload();
    await connState(alice, 'open');
    await expect.poll(() => alice.getByTestId('room-title').textContent(), { timeout: T }).toBe(roomName);
    await seen(msg(alice, 'offline 5'));
  });

  it('raised no page errors and no Content-Security-Policy violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
