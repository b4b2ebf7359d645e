// `hsm bench browser`: decoding speed of the exported web page in headless
// Chromium. For each plan a freshly initialised model of the
// shakespeare-char-cpu size (d=128, 4 heads, 4 blocks, 65 characters) is
// written as a run folder, exported with `hsm export --web`, served on
// loopback, and asked (through the page's HsmWorker) for greedy tokens with
// per-token times. Speed does not depend on the weights, so nothing is trained.
//
// playwright-core is a development dependency: it is imported only here, when
// the benchmark runs, and a missing one is a one-line error.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerateResult } from '../browser/protocol.js';
import { UserError } from '../errors.js';
import { parsePlan } from '../model/plan.js';
import { serveFolder } from '../serve/static-files.js';
import { exportWeb } from '../serve/web-export.js';
import { loadModel } from '../train/checkpoint.js';
import { writeFreshRun } from './serve.js';
import { median, round } from './timing.js';

/** tinyshakespeare's 65 characters: the vocabulary of the shakespeare-char-cpu models. */
export const SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The bars for a pure HSM plan: tokens/s overall, and ms/token at the last position over the first. */
export const BROWSER_BARS = { tokensPerS: 1000, ratioLastToFirst: 1.2 };

export interface BrowserBenchOptions {
  plans: string[];
  /** Greedy tokens generated per plan (after a short warm-up). */
  tokens: number;
  /** Generated-token indices to time; each reports the median ms/token over `window` tokens from it. */
  positions: number[];
  window: number;
  nEmbd: number;
  nHead: number;
  /** Context of pure HSM models (they decode past it); a plan whose decoding ends at its context gets one long enough. */
  context: number;
  chromium: string;
  /** Generations per plan; each figure reported is the median over them (a shared machine is noisy). */
  repeats: number;
  /** Time limit per plan: the generation is stopped there and reported as such. */
  deadlineS: number;
  emit: (record: Record<string, unknown>) => void;
}

/** The prompt: one token, so the n-th generated token sits at position n. */
const PROMPT = '\n';
const WARMUP_TOKENS = 300;

type Chromium = (typeof import('playwright-core'))['chromium'];

async function loadChromium(): Promise<Chromium> {
  try {
    return (await import('playwright-core')).chromium;
  } catch {
    throw new UserError(
      'hsm bench browser needs playwright-core (a development dependency: npm install in the hsm checkout)',
    );
  }
}

export async function benchBrowser(opts: BrowserBenchOptions): Promise<void> {
  for (const plan of opts.plans) parsePlan(plan); // a bad plan fails before anything starts
  const last = Math.max(...opts.positions) + opts.window;
  if (last > opts.tokens)
    throw new UserError(
      `--tokens ${opts.tokens}: the last position timed (${Math.max(...opts.positions)}) plus its window (${opts.window}) needs at least ${last}`,
    );
  if (!existsSync(opts.chromium))
    throw new UserError(`--chromium ${opts.chromium}: no browser there (apt-get install chromium, or give its path)`);
  const chromium = await loadChromium();
  const root = mkdtempSync(join(tmpdir(), 'hsm-bench-browser-'));
  const browser = await chromium.launch({ executablePath: opts.chromium, headless: true });
  try {
    for (const [i, plan] of opts.plans.entries()) {
      const run = join(root, `run-${i}`),
        out = join(root, `page-${i}`);
      const fresh = (context: number) =>
        writeFreshRun(run, plan, opts.nEmbd, context, {
          tokenizer: 'char',
          text: SHAKESPEARE_CHARS,
          nHead: opts.nHead,
        });
      fresh(opts.context);
      const needed = opts.tokens + 1; // the prompt's token, then every generated one
      const pureHsm = !Number.isFinite(loadModel(run).model.maxDecodeLength);
      const context = pureHsm || opts.context >= needed ? opts.context : Math.ceil(needed / 100) * 100;
      if (context !== opts.context) fresh(context); // learned positions / KV caches end at the context
      const exported = exportWeb({ out, ckpt: run });
      const server = await serveFolder(out);
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      try {
        await page.goto(server.url);
        await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
        const { results, backend, isolated } = await page.evaluate(
          async ({ prompt, tokens, warmup, repeats, deadlineMs }) => {
            type Page = {
              hsm: {
                backend: string;
                stop(): Promise<void>;
                generate(r: object): Promise<GenerateResult>;
              };
            };
            const hsm = (window as unknown as Page).hsm;
            let late = false;
            const timer = setTimeout(() => {
              late = true;
              void hsm.stop();
            }, deadlineMs);
            await hsm.generate({ prompt, maxTokens: warmup, temperature: 0 }); // JIT and buffer warm-up
            const results: GenerateResult[] = [];
            while (results.length < repeats && !late)
              results.push(await hsm.generate({ prompt, maxTokens: tokens, temperature: 0, recordTimes: true }));
            clearTimeout(timer);
            return { results, backend: hsm.backend, isolated: crossOriginIsolated };
          },
          {
            prompt: PROMPT,
            tokens: opts.tokens,
            warmup: WARMUP_TOKENS,
            repeats: opts.repeats,
            deadlineMs: opts.deadlineS * 1000,
          },
        );
        if (problems.length) throw new Error(`the page failed: ${problems.join('; ')}`);
        if (!isolated)
          throw new Error('the page is not cross-origin isolated, so its clock is too coarse to time tokens');
        opts.emit(
          record(
            { plan, pureHsm, context, backend, results, codeBytes: exported.codeBytes },
            await browser.version(),
            opts,
          ),
        );
      } finally {
        await page.close();
        await server.close();
      }
    }
  } finally {
    await browser.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** One plan's figures: each the median over the repeated generations (a stopped one counts as it got). */
function record(
  run: {
    plan: string;
    pureHsm: boolean;
    context: number;
    backend: string;
    results: GenerateResult[];
    codeBytes: number;
  },
  browserVersion: string,
  opts: BrowserBenchOptions,
): Record<string, unknown> {
  const { plan, pureHsm, context, backend, results, codeBytes } = run;
  const gapsOf = (times: number[], from: number, to: number) => {
    const gaps: number[] = [];
    for (let i = Math.max(1, from); i < Math.min(times.length, to); i++) gaps.push(times[i] - times[i - 1]);
    return gaps;
  };
  /** Median ms between tokens over the window from generated token p, in one generation. */
  const msAt = (times: number[], p: number) => {
    const gaps = gapsOf(times, p, p + opts.window);
    return gaps.length ? median(gaps) : NaN;
  };
  const each = <T>(f: (r: GenerateResult, times: number[]) => T) => results.map((r) => f(r, r.tokenTimesMs ?? []));
  const ms = Object.fromEntries(opts.positions.map((p) => [String(p), round(median(each((_, t) => msAt(t, p))), 4)]));
  const first = ms[String(opts.positions[0])],
    final = ms[String(opts.positions[opts.positions.length - 1])];
  const ratio = round(final / first, 3);
  const tokensPerS = round(median(each((r) => r.tokensPerSecond)), 1);
  const stopped = results.length < opts.repeats || results.some((r) => r.stopped);
  return {
    bench: 'browser',
    plan,
    backend,
    browser: `chromium ${browserVersion}`,
    n_embd: opts.nEmbd,
    n_head: opts.nHead,
    vocab_size: SHAKESPEARE_CHARS.length,
    context,
    tokens: opts.tokens,
    repeats: results.length,
    stopped,
    first_token_ms: round(median(each((r) => r.firstTokenMs)), 2),
    // From the first token to the last, everything included (yields to hear `stop`, GC, other processes).
    tokens_per_s: tokensPerS,
    tokens_per_s_runs: each((r) => round(r.tokensPerSecond, 1)),
    // 1000 / the median time between two tokens over the whole generation: the rate when nothing intervenes.
    tokens_per_s_median_token: round(1000 / median(each((_, t) => median(gapsOf(t, 1, t.length)))), 1),
    ms_per_token: ms,
    tokens_per_s_at: Object.fromEntries(Object.entries(ms).map(([p, v]) => [p, round(1000 / v, 1)])),
    ratio_last_to_first: ratio,
    page_code_bytes: codeBytes,
    ...(pureHsm && {
      bars: {
        tokens_per_s: `>= ${BROWSER_BARS.tokensPerS}`,
        ratio_last_to_first: `<= ${BROWSER_BARS.ratioLastToFirst}`,
        met: !stopped && tokensPerS >= BROWSER_BARS.tokensPerS && ratio <= BROWSER_BARS.ratioLastToFirst,
      },
    }),
  };
}
