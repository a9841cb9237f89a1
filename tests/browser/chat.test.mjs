// Browser test of the gateway's web chat page, driving Debian's headless Chromium with
// playwright-core. Runs against a gateway that is already up:
//
//   GATEWAY_URL='http://127.0.0.1:PORT/#token=…' node --test tests/browser/chat.test.mjs
//
// The gateway's model must answer the first message with a `read` tool call of notes.txt and
// then text, and stream the second message's answer slowly enough for Stop to be pressed.
// Optional env (see README.md): OPENCLAW_TEST_TOOL_MODEL, OPENCLAW_TEST_SLOW_MODEL,
// OPENCLAW_TEST_FIRST_MESSAGE, OPENCLAW_TEST_SLOW_MESSAGE, OPENCLAW_TEST_EXPECT_TOOL (default
// "read"; "none" to not require one), OPENCLAW_TEST_EXPECT_TEXT, OPENCLAW_TEST_SLOW_STREAMS,
// CHROMIUM_PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const shotDir = path.join(repo, 'target', 'browser');
const env = process.env;
const GATEWAY_URL = env.GATEWAY_URL;
const CHROMIUM = env.CHROMIUM_PATH || '/usr/bin/chromium';
const TOOL_MODEL = env.OPENCLAW_TEST_TOOL_MODEL || '';
const SLOW_MODEL = env.OPENCLAW_TEST_SLOW_MODEL || '';
const FIRST = env.OPENCLAW_TEST_FIRST_MESSAGE || 'What do my notes say? Read notes.txt.';
const SLOW = env.OPENCLAW_TEST_SLOW_MESSAGE || 'Now write a very long, slow story.';
const EXPECT_TOOL = env.OPENCLAW_TEST_EXPECT_TOOL === 'none' ? '' : (env.OPENCLAW_TEST_EXPECT_TOOL || 'read');
const EXPECT_TEXT = env.OPENCLAW_TEST_EXPECT_TEXT || '';
// "0": the slow reply may produce no text before Stop (e.g. the test server's --hang model)
const SLOW_STREAMS = env.OPENCLAW_TEST_SLOW_STREAMS !== '0';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const tid = (id) => `[data-testid="${id}"]`;

test('web chat: connect, stream, tool call, stop, sessions, token prompt', { timeout: 180_000 }, async () => {
  assert.ok(GATEWAY_URL, 'GATEWAY_URL must be set to the gateway page URL with its #token=… fragment');
  assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  const token = new URL(GATEWAY_URL).hash.replace(/^#/, '').split('&').map((kv) => kv.split('='))
    .find(([k]) => k === 'token')?.[1];
  assert.ok(token, 'GATEWAY_URL must carry #token=…');
  const origin = new URL(GATEWAY_URL).origin;

  fs.mkdirSync(shotDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1180, height: 860 },
    colorScheme: 'light', reducedMotion: 'reduce',
  });
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') console.log('[page console]', msg.text()); });
  page.setDefaultTimeout(30_000);

  try {
    // ---- load, token from the fragment, connected
    await page.goto(GATEWAY_URL);
    await page.locator(`${tid('connection-status')}[data-state="connected"]`).waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate(() => location.hash), '', 'token fragment stripped from the address bar');
    assert.equal(await page.evaluate(() => localStorage.getItem('openclaw.token')), decodeURIComponent(token));
    assert.equal(await page.title(), 'OpenClaw');

    // ---- model picker filled from models.list, default selected
    const select = page.locator(tid('model-select'));
    await page.waitForFunction(() => document.querySelector('[data-testid="model-select"]').options.length > 0);
    assert.ok(await select.inputValue(), 'a model is selected');
    const defaultText = await select.locator('option:checked').textContent();
    assert.match(defaultText, /\(default\)/, 'the default model is the selected one');
    if (TOOL_MODEL) await select.selectOption(TOOL_MODEL);

    // ---- first message: Enter sends; tool call + streamed answer
    const input = page.locator(tid('message-input'));
    await input.fill(FIRST);
    await input.press('Enter');
    const users = page.locator(`${tid('message')}[data-role="user"]`);
    await users.first().waitFor();
    assert.equal(await users.first().innerText(), FIRST);
    assert.equal(await input.inputValue(), '', 'input cleared after sending');
    const answers = page.locator(`${tid('message')}[data-role="assistant"]`);
    const first = answers.nth(0);
    await first.waitFor();
    await page.waitForFunction(() => {
      const m = document.querySelectorAll('[data-testid="message"][data-role="assistant"]')[0];
      return m && m.dataset.state !== 'streaming';
    }, null, { timeout: 90_000 });
    const firstState = await first.getAttribute('data-state');
    assert.equal(firstState, 'done', `first run ended as ${firstState}: ${await first.innerText()}`);
    const firstText = (await first.locator(tid('message-text')).allInnerTexts()).join('\n').trim();
    assert.ok(firstText.length > 0, 'answer text rendered');
    if (EXPECT_TEXT) assert.ok(firstText.includes(EXPECT_TEXT), `answer contains ${JSON.stringify(EXPECT_TEXT)}: ${firstText}`);
    assert.equal(await first.locator(tid('error')).count(), 0, 'no error in the first answer');
    if (EXPECT_TOOL) {
      const tool = first.locator(`${tid('tool-call')}[data-tool-name="${EXPECT_TOOL}"]`);
      assert.equal(await tool.count(), 1, `one ${EXPECT_TOOL} tool call rendered`);
      assert.match(await tool.locator('.tool-args').innerText(), /notes\.txt/, 'tool arguments shown');
      assert.match(await tool.getAttribute('data-state'), /^(ok|error)$/, 'tool result arrived');
      assert.equal(await tool.locator('details.tool-result').count(), 1, 'result is collapsible');
    }
    assert.ok((await first.locator('.model-name').innerText()).trim(), 'the answering model is named');

    // ---- the session shows up in the sidebar, newest first, titled by the first message
    const item = page.locator(`${tid('session-item')}[aria-current="true"]`);
    await item.waitFor();
    assert.ok(FIRST.startsWith((await item.locator('.session-title').innerText()).replace(/…$/, '').trim()), 'session titled by first message');
    assert.equal(await page.locator(tid('session-item')).first().getAttribute('aria-current'), 'true', 'current session listed first');

    // ---- second message streams slowly: Stop aborts it and the UI is ready again
    if (SLOW_MODEL) await select.selectOption(SLOW_MODEL);
    await input.fill(SLOW);
    await page.locator(tid('send-button')).click();
    const stop = page.locator(tid('stop-button'));
    const second = answers.nth(1);
    const slowText = second.locator(tid('message-text'));
    const secondState = () => page.evaluate(() => document.querySelectorAll('[data-testid="message"][data-role="assistant"]')[1]?.dataset.state);
    const mustStream = async (what) => {
      const state = await secondState();
      assert.equal(state, 'streaming', `${what}, but the second answer already ended as "${state}" ` +
        `(${(await second.innerText()).slice(0, 200)}): its reply must be slow (OPENCLAW_TEST_SLOW_MODEL / OPENCLAW_TEST_SLOW_MESSAGE)`);
    };
    await second.waitFor();
    await mustStream('expected a run in progress');
    assert.equal(await stop.isVisible(), true, 'stop shown while a run goes');
    assert.equal(await page.locator(tid('send-button')).isVisible(), false, 'send hidden while a run goes');
    if (SLOW_STREAMS) {
      // wait for some answer text, then for more of it: the answer streams
      await page.waitForFunction(() => {
        const m = document.querySelectorAll('[data-testid="message"][data-role="assistant"]')[1];
        return m.dataset.state !== 'streaming' || !!m.querySelector('[data-testid="message-text"]')?.innerText.trim();
      }, null, { timeout: 60_000 });
      await mustStream('expected streamed text');
      const before = (await slowText.first().innerText()).length;
      await page.waitForFunction((n) => {
        const m = document.querySelectorAll('[data-testid="message"][data-role="assistant"]')[1];
        return m.dataset.state !== 'streaming' || m.querySelector('[data-testid="message-text"]').innerText.length > n;
      }, before, { timeout: 20_000 });
      await mustStream('expected more streamed text');
      assert.ok((await slowText.first().innerText()).length > before, 'answer text grows while streaming');
    } else {
      await page.waitForTimeout(1000);
      await mustStream('expected a run still in progress after 1 s');
    }
    await stop.click();
    await page.locator(`${tid('message')}[data-role="assistant"][data-state="aborted"]`).waitFor({ timeout: 20_000 });
    assert.equal(await second.getAttribute('data-state'), 'aborted');
    assert.equal(await second.locator(tid('aborted')).innerText(), 'Stopped.');
    if (SLOW_STREAMS) assert.ok((await slowText.first().innerText()).trim().length > 0, 'partial answer kept');
    await page.locator(tid('send-button')).waitFor({ state: 'visible' });
    assert.equal(await stop.isVisible(), false, 'stop hidden after abort');
    assert.equal(await page.locator(tid('send-button')).isEnabled(), true, 'send enabled again');
    assert.equal(await input.isEditable(), true, 'input editable again');
    await page.waitForTimeout(1500); // no late events revive the run
    assert.equal(await second.getAttribute('data-state'), 'aborted');
    assert.equal(await stop.isVisible(), false);
    await page.screenshot({ path: path.join(shotDir, 'chat.png') });

    // ---- markdown renderer: safe and complete (run in the page, on hostile input)
    const md = await page.evaluate(() => {
      const box = document.createElement('div');
      box.innerHTML = window.openclawMarkdown([
        'Hello **bold** and *it* and `x<y`', '', '- one', '- two [ok](https://example.com/a_b?x=1&y=2)', '',
        '1. first', '2. second', '', '```rust', 'fn main() { println!("<b>"); }', '```', '',
        '<img src=x onerror=alert(1)> [bad](javascript:alert(1)) <script>alert(2)</script>',
      ].join('\n'));
      return {
        strong: box.querySelector('p strong')?.textContent, em: box.querySelector('p em')?.textContent,
        code: box.querySelector('p code')?.textContent, ul: box.querySelectorAll('ul li').length,
        ol: box.querySelectorAll('ol li').length, lang: box.querySelector('.code-lang')?.textContent,
        copy: !!box.querySelector('.code button.copy'), block: box.querySelector('pre code')?.textContent,
        links: [...box.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.rel]),
        evil: box.querySelectorAll('img, script, [onerror]').length, text: box.textContent,
      };
    });
    assert.equal(md.strong, 'bold'); assert.equal(md.em, 'it'); assert.equal(md.code, 'x<y');
    assert.equal(md.ul, 2); assert.equal(md.ol, 2); assert.equal(md.lang, 'rust'); assert.ok(md.copy);
    assert.equal(md.block, 'fn main() { println!("<b>"); }');
    assert.deepEqual(md.links, [['https://example.com/a_b?x=1&y=2', 'noopener noreferrer']]);
    assert.equal(md.evil, 0, 'no HTML from model text');
    assert.ok(md.text.includes('<img src=x onerror=alert(1)>') && md.text.includes('[bad](javascript:alert(1))'), 'raw HTML shown as text');

    // ---- New chat, then switch back: chat.history renders the past turns (incl. tool calls)
    await page.locator(tid('new-chat')).click();
    assert.equal(await page.locator(tid('message')).count(), 0, 'new chat is empty');
    assert.equal(await page.locator(`${tid('session-item')}[aria-current="true"]`).count(), 0);
    await page.locator(tid('session-item')).first().click();
    await users.first().waitFor();
    assert.equal(await users.first().innerText(), FIRST, 'history shows the first message');
    assert.ok(await users.count() >= 2, 'history shows both user messages');
    await page.waitForFunction(() => !!document.querySelector('[data-testid="message"][data-role="assistant"] [data-testid="message-text"]')?.innerText.trim());
    if (EXPECT_TOOL) {
      assert.ok(await page.locator(`${tid('tool-call')}[data-tool-name="${EXPECT_TOOL}"]`).count() >= 1, 'history shows the tool call');
    }
    assert.equal(await page.locator(`${tid('session-item')}[aria-current="true"]`).count(), 1);

    // ---- narrow screen: the sidebar becomes a drawer
    await page.setViewportSize({ width: 390, height: 780 });
    assert.equal(await page.locator(tid('session-item')).first().isVisible(), false, 'drawer closed on a phone');
    await page.getByRole('button', { name: 'Show chats' }).click();
    await page.waitForTimeout(50);
    assert.equal(await page.locator(tid('session-item')).first().isVisible(), true, 'drawer opens');
    await page.locator('#backdrop').click({ position: { x: 370, y: 400 } });
    await page.screenshot({ path: path.join(shotDir, 'chat-narrow.png') });
    await page.setViewportSize({ width: 1180, height: 860 });

    // ---- a wrong token shows the token prompt; the right one connects
    const page2 = await context.newPage();
    page2.on('pageerror', (err) => pageErrors.push(String(err)));
    await page2.goto(`${origin}/#token=not-the-token`);
    const tokenInput = page2.locator(tid('token-input'));
    await tokenInput.waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await page2.locator(tid('connection-status')).getAttribute('data-state'), 'unauthorized');
    await tokenInput.fill(decodeURIComponent(token));
    await tokenInput.press('Enter');
    await page2.locator(`${tid('connection-status')}[data-state="connected"]`).waitFor({ timeout: 20_000 });
    assert.equal(await tokenInput.isVisible(), false, 'prompt closed once connected');
    await page2.close();

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (err) {
    await page.screenshot({ path: path.join(shotDir, 'chat-failure.png') }).catch(() => {});
    console.log(`screenshot of the failure: ${path.join(shotDir, 'chat-failure.png')}`);
    throw err;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
