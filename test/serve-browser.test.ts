// The playground of `hsm serve` in Debian's Chromium: pick the model, type a
// prompt, press Generate, and the text streams into the page through the
// public API. A screenshot is saved (dist/test-output/playground.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateText, loadModel } from '../src/index.js';
import { startServer } from '../src/serve/server.js';
import { trainServeFixtures } from './serve-fixtures.js';
import { launchChromium } from './chromium.js';
import { chromiumMissing } from './toolchains.js';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const skip = chromiumMissing();

test('playground: a prompt typed in the page streams the same text as hsm generate', { skip }, async () => {
  const dirs = await trainServeFixtures(['hsm', 'gpt']);
  const server = await startServer({
    ckpts: [dirs.hsm, dirs.gpt],
    host: '127.0.0.1',
    port: 0,
    apiKey: 'page-key',
    parallel: 4,
    maxQueue: 8,
    maxTokensLimit: 1000,
  });
  const browser = await launchChromium(server);
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => !r.url().startsWith(server.url) && problems.push(`the page fetched ${r.url()}`));
    await page.goto(`${server.url}/`);
    // Without the key the page says why it cannot list models; with it, both models appear.
    await page.waitForFunction(() => /API key/.test(document.getElementById('model-info')!.textContent ?? ''));
    await page.fill('#key', 'page-key');
    await page.dispatchEvent('#key', 'change');
    await page.waitForFunction(() => document.querySelectorAll('#model option').length === 2);
    await page.selectOption('#model', 'hsm');
    assert.match((await page.textContent('#model-info'))!, /hsm:pair\*3 .* decoding state/);
    await page.fill('#prompt', 'ROMEO:');
    await page.fill('#temperature', '0');
    await page.fill('#max_tokens', '120');
    await page.click('#generate');
    await page.waitForFunction(() => /done/.test(document.getElementById('stats')!.textContent ?? ''), null, {
      timeout: 30_000,
    });
    const shown = (await page.textContent('#output'))!;
    const { model, tokenizer } = loadModel(dirs.hsm);
    assert.equal(shown, 'ROMEO:' + generateText(model, tokenizer, 'ROMEO:', { maxTokens: 120, temperature: 0 }));
    assert.match(
      (await page.textContent('#stats'))!,
      /120 tokens · time to first token \d+ ms · [\d.]+ tokens\/s · done \(max tokens reached\)/,
    );
    // An error from the API is shown in the page, not swallowed.
    await page.selectOption('#model', 'gpt');
    await page.fill('#prompt', 'a'.repeat(100));
    await page.click('#generate');
    await page.waitForFunction(() => /context/.test(document.getElementById('error')!.textContent ?? ''));
    await page.selectOption('#model', 'hsm');
    await page.fill('#prompt', 'ROMEO:');
    await page.click('#generate');
    await page.waitForFunction(() => /done/.test(document.getElementById('stats')!.textContent ?? ''), null, {
      timeout: 30_000,
    });
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}playground.png`, fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
