// `hsm export --web`: its one-line errors, then the exported page in Debian's
// Chromium, served by a loopback static server: greedy text typed into the
// page equals `hsm generate`'s, on the wasm backend; a model trained in the
// page lowers its loss and draws it; the page's code stays within 1 MB. A
// screenshot is saved (dist/test-output/web-export.png; docs/web-export.png is a copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { writeFreshRun } from '../src/bench/serve.js';
import { SHAKESPEARE_CHARS } from '../src/bench/browser.js';
import { serveFolder } from '../src/serve/static-files.js';
import { startServer } from '../src/serve/server.js';
import { PAGE_CODE_BUDGET_BYTES } from '../src/serve/web-export.js';
import { assertUserError, cli, shakespeare, tmp, type CliResult } from './helpers.js';
import { trainServeFixtures } from './serve-fixtures.js';
import { launchChromium } from './chromium.js';
import { chromiumMissing, firstMissing, wasmMissing } from './toolchains.js';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
/** The page needs the WebAssembly module (its backend); driving it needs Chromium too. */
const noPage = wasmMissing();
const skip = firstMissing(noPage, chromiumMissing());

const hsm = (...args: string[]): CliResult => cli(args);

/**
 * Greedy generation in the exported page equals `hsm generate --temperature 0` (which prints the prompt, the
 * text and a newline); returns the page's result record.
 */
async function assertGreedyMatchesCli(
  page: Page,
  ready: () => Promise<unknown>,
  ckpt: string,
  prompt: string,
  maxTokens: number,
): Promise<{ tokens: number }> {
  await page.fill('#prompt', prompt);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', String(maxTokens));
  await page.click('#generate');
  await page.waitForFunction(() => 'hsmLastResult' in window);
  await ready();
  const cli = hsm(
    'generate',
    '--ckpt',
    ckpt,
    '--prompt',
    prompt,
    '--max-tokens',
    String(maxTokens),
    '--temperature',
    '0',
  );
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal((await page.textContent('#output')) + '\n', cli.stdout);
  return page.evaluate(() => (window as unknown as { hsmLastResult: { tokens: number } }).hsmLastResult);
}

test('hsm export --web: a bad run folder or a non-empty folder is one line and exit code 2', { skip: noPage }, () => {
  const root = tmp('export');
  const char = join(root, 'char');
  writeFreshRun(char, 'hsm:ab[proj]*2', 16, 16, { tokenizer: 'char', text: SHAKESPEARE_CHARS });

  assertUserError(hsm('export', '--web', join(root, 'a'), '--ckpt', join(root, 'nope')), /does not exist/);
  const broken = join(root, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'config.json'), '{');
  assertUserError(hsm('export', '--web', join(root, 'a'), '--ckpt', broken), /config\.json is not valid JSON/);
  assert.ok(!existsSync(join(root, 'a')), 'nothing is written after an error');

  const full = join(root, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'notes.txt'), 'mine');
  assertUserError(hsm('export', '--web', full, '--ckpt', char), /not empty.*--overwrite/);
  // --overwrite replaces only an earlier export, never a folder of other files.
  assertUserError(hsm('export', '--web', full, '--ckpt', char, '--overwrite'), /does not hold an earlier export/);
  assert.equal(readFileSync(join(full, 'notes.txt'), 'utf8'), 'mine');

  const out = join(root, 'page');
  const first = hsm('export', '--web', out, '--ckpt', char);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /downloads [\d.]+ kB of code \(hsm\.js \+ hsm\.wasm/);
  assert.match(first.stdout, /python3 -m http\.server -d /);
  for (const f of ['index.html', 'hsm.js', 'hsm.wasm', 'model/config.json', 'model/model.safetensors'])
    assert.ok(existsSync(join(out, f)), `${f} written`);
  assert.ok(!existsSync(join(out, 'model', 'gpt2-ranks.json')), 'the gpt2 ranks only for gpt2 models');
  assertUserError(hsm('export', '--web', out, '--ckpt', char), /not empty/);
  const again = hsm('export', '--web', out, '--ckpt', char, '--overwrite');
  assert.equal(again.status, 0, again.stderr);
});

/** A fresh (untrained) gpt2 model: d=8, so its weights are mostly the 50257×8 embedding. */
function freshGpt2(root: string): string {
  const dir = join(root, 'gpt2');
  writeFreshRun(dir, 'hsm:ab*1', 8, 8, { tokenizer: 'gpt2', nHead: 1 });
  return dir;
}

/** js-tiktoken's gpt2 ranks, as the Node tokenizer reads them. */
const GPT2_RANKS = createRequire(import.meta.url)('js-tiktoken/ranks/gpt2') as unknown;

test('hsm export --web: a gpt2 model is exported with its tokenizer ranks beside the weights', { skip: noPage }, () => {
  const root = tmp('export');
  const out = join(root, 'page');
  const r = hsm('export', '--web', out, '--ckpt', freshGpt2(root));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(gpt2 tokenizer\)/);
  assert.match(r.stdout, /model\/gpt2-ranks\.json/);
  for (const f of ['index.html', 'hsm.js', 'hsm.wasm', 'model/config.json', 'model/model.safetensors'])
    assert.ok(existsSync(join(out, f)), `${f} written`);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'model', 'gpt2-ranks.json'), 'utf8')), GPT2_RANKS);
  // The ranks are model-side data: the page's code does not carry them.
  assert.ok(statSync(join(out, 'hsm.js')).size < 400_000, 'hsm.js stays small (no ranks inside)');
});

test('the exported page: generates as hsm generate does (wasm), trains a model in the page', { skip }, async () => {
  const dirs = await trainServeFixtures(['hsm']);
  const out = join(tmp('export'), 'page');
  const exported = hsm('export', '--web', out, '--ckpt', dirs.hsm);
  assert.equal(exported.status, 0, exported.stderr);
  const codeBytes = statSync(join(out, 'hsm.js')).size + statSync(join(out, 'hsm.wasm')).size;
  assert.ok(codeBytes <= PAGE_CODE_BUDGET_BYTES, `hsm.js + hsm.wasm = ${codeBytes} bytes, over 1 MB`);

  const server = await serveFolder(out);
  const browser = await launchChromium(server);
  try {
    for (const [file, type] of [
      ['hsm.wasm', 'application/wasm'],
      ['hsm.js', 'text/javascript; charset=utf-8'],
      ['', 'text/html; charset=utf-8'],
    ]) {
      const res = await fetch(server.url + file);
      assert.equal(res.headers.get('content-type'), type, `content type of /${file}`);
      await res.arrayBuffer();
    }
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`request ${r.url()} failed`));
    page.on('request', (r) => !r.url().startsWith(server.url) && problems.push(`the page fetched ${r.url()}`));
    await page.goto(server.url);
    const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 30_000 });
    await ready();
    assert.equal(await page.textContent('#info-backend'), 'wasm (WebAssembly)');
    assert.equal(await page.textContent('#info-plan'), 'hsm:pair*3');
    assert.match((await page.textContent('#info-state'))!, /^[\d.]+ (B|KiB) per sequence$/);
    assert.match((await page.textContent('#info-context'))!, /^32 tokens \(decodes past it at constant cost\)$/);

    // Greedy text in the page equals the CLI's.
    const prompt = 'ROMEO:';
    const result = await assertGreedyMatchesCli(page, ready, dirs.hsm, prompt, 100);
    assert.equal(result.tokens, 100);
    assert.match((await page.textContent('#stats'))!, /^100 tokens · time to first token \d+ ms · \d+ tokens\/s$/);

    // Stop ends a long generation between tokens.
    await page.fill('#max-tokens', '1000000');
    await page.click('#generate');
    await page.waitForFunction(() => (document.getElementById('output')!.textContent ?? '').length > 200);
    await page.click('#stop');
    await page.waitForFunction(
      () => (window as unknown as { hsmLastResult: { stopped: boolean } }).hsmLastResult.stopped,
    );
    await ready();
    assert.equal(await page.textContent('#status'), 'Stopped.');

    // Train in the page on 20 kB of Shakespeare: the loss falls and the chart draws it.
    const text = shakespeare(20_000);
    await page.fill('#train-text', text);
    await page.fill('#train-steps', '100');
    await page.click('#train');
    await page.waitForFunction(() => 'hsmLastTrain' in window, null, { timeout: 50_000 });
    await ready();
    const trained = await page.evaluate(
      () => (window as unknown as { hsmLastTrain: { steps: number; losses: number[] } }).hsmLastTrain,
    );
    assert.equal(trained.steps, 100);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const firstTen = mean(trained.losses.slice(0, 10)),
      lastTen = mean(trained.losses.slice(-10));
    assert.ok(lastTen < firstTen - 0.5, `loss fell from ${firstTen.toFixed(3)} to only ${lastTen.toFixed(3)}`);
    const points = (await page.getAttribute('#loss-line', 'points'))!.trim().split(/\s+/);
    assert.equal(points.length, 100, 'one chart point per step');
    assert.match((await page.textContent('#loss-last'))!, /^100 steps in [\d.]+ s: loss [\d.]+ → [\d.]+\.$/);
    assert.equal(await page.textContent('#info-plan'), 'hsm:ab[proj]*4');

    // Generate now uses the model trained in the page.
    await page.fill('#max-tokens', '60');
    await page.fill('#temperature', '0.8');
    await page.click('#generate');
    await page.waitForFunction(
      () => (window as unknown as { hsmLastResult: { tokens: number } }).hsmLastResult.tokens === 60,
    );
    await ready();
    assert.ok((await page.textContent('#output'))!.startsWith(prompt));

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'web-export.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('the exported page of a gpt2 model: fetches the ranks, generates as hsm generate does', { skip }, async () => {
  const root = tmp('export');
  const dir = freshGpt2(root),
    out = join(root, 'page');
  const exported = hsm('export', '--web', out, '--ckpt', dir);
  assert.equal(exported.status, 0, exported.stderr);

  const server = await serveFolder(out);
  const browser = await launchChromium(server);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    context.on('requestfailed', (r) => problems.push(`request ${r.url()} failed`));
    const fetched: string[] = [];
    context.on('request', (r) => fetched.push(r.url())); // the context also sees the worker's requests
    await page.goto(server.url);
    const ready = () => page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 30_000 });
    await ready();
    assert.equal(await page.textContent('#error'), '');
    assert.ok(fetched.includes(`${server.url}model/gpt2-ranks.json`), 'the page fetched the ranks');
    assert.equal(await page.textContent('#info-tokenizer'), 'gpt2 (50257 tokens)');

    // Non-ASCII text: multi-byte characters, and tokens that may end mid-character.
    const result = await assertGreedyMatchesCli(page, ready, dir, 'café ✓', 20);
    assert.equal(result.tokens, 20);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

test(
  'hsm serve serves each model its in-browser page at /web/<id>/ (the export, live), not behind an API key',
  { skip: noPage },
  async () => {
    const root = tmp('webserve');
    const dir = join(root, 'tiny');
    writeFreshRun(dir, 'hsm:ab[proj]*2', 16, 16, { tokenizer: 'char', text: SHAKESPEARE_CHARS });
    const gpt2 = freshGpt2(root);
    const common = { ckpts: [dir, gpt2], host: '127.0.0.1', port: 0, parallel: 2, maxQueue: 4, maxTokensLimit: 64 };
    const server = await startServer(common);
    try {
      const get = (path: string) => fetch(`${server.url}${path}`);
      const page = await get('/web/tiny/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /hsm\.js/);
      const wasm = await get('/web/tiny/hsm.wasm');
      assert.equal(wasm.headers.get('content-type'), 'application/wasm');
      assert.equal(wasm.headers.get('cross-origin-embedder-policy'), 'require-corp');
      assert.deepEqual(
        new Uint8Array(await wasm.arrayBuffer()),
        new Uint8Array(readFileSync(fileURLToPath(new URL('../wasm/hsm.wasm', import.meta.url)))),
      );
      assert.equal(
        await (await get('/web/tiny/model/config.json')).text(),
        readFileSync(join(dir, 'config.json'), 'utf8'),
      );
      assert.equal(
        (await (await get('/web/tiny/model/model.safetensors')).arrayBuffer()).byteLength,
        statSync(join(dir, 'model.safetensors')).size,
      );
      assert.equal(
        (await get('/web/tiny/optimizer.safetensors')).status,
        404,
        'only the page and the model are served',
      );
      assert.equal((await get('/web/tiny/model/optimizer.safetensors')).status, 404);
      assert.equal((await get('/web/tiny/model/gpt2-ranks.json')).status, 404, 'the ranks only for gpt2 models');
      const ranks = await get('/web/gpt2/model/gpt2-ranks.json');
      assert.equal(ranks.status, 200);
      assert.equal(ranks.headers.get('content-type'), 'application/json');
      assert.deepEqual(await ranks.json(), GPT2_RANKS);
      const unknown = await get('/web/other/');
      assert.equal(unknown.status, 404);
      assert.match((await unknown.json()).error.message, /other/);
    } finally {
      await server.close();
    }
    const locked = await startServer({ ...common, apiKey: 'sekrit' });
    try {
      assert.equal(
        (await fetch(`${locked.url}/web/tiny/`)).status,
        404,
        'the page would hand out the weights the key protects',
      );
    } finally {
      await locked.close();
    }
  },
);
