/**
 * A run folder served over HTTP, loaded into a model: config.json and
 * model.safetensors are fetched and checked as the CLI checks files on disk
 * (train/run-config.ts), so a damaged or mismatched folder is one clear error.
 */
import { GPT2_RANKS_FILE } from '../data/gpt2-bpe.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { tokenizerFromSpec } from '../data/tokenizers.js';
import { parseSafetensors } from '../io/safetensors-format.js';
import { describeModel } from '../model/cost.js';
import type { Transformer } from '../model/transformer.js';
import { checkRunConfig, modelFromWeights, type RunConfigFile } from '../train/run-config.js';
import { provideGpt2Ranks } from './platform/gpt2-tokenizer.js';

/** What a page shows about a loaded model. */
export interface ModelInfo {
  plan: string;
  parameters: number;
  context: number;
  /** Whether decoding ends at the context (attention or learned positions) or goes on at constant cost. */
  contextIsFixed: boolean;
  tokenizer: string;
  vocabSize: number;
  /** Bytes of one sequence's decoding state at full context (HSM ring buffers, attention KV caches). */
  decodeStateBytes: number;
  /** Bytes of the weights file. */
  weightBytes: number;
}

export interface LoadedRun {
  run: RunConfigFile;
  model: Transformer;
  tokenizer: Tokenizer;
  info: ModelInfo;
}

async function fetchOk(url: URL, fetchFn: typeof fetch): Promise<Response> {
  const response = await fetchFn(url);
  if (!response.ok) throw new Error(`fetching ${url} failed: HTTP ${response.status}`);
  return response;
}

/**
 * Loads `<base>/config.json` and `<base>/model.safetensors` (base: a folder URL,
 * with or without a final slash), and for gpt2 models `<base>/gpt2-ranks.json`:
 * the tokenizer's ranks, which the bundle leaves out.
 */
export async function loadRun(base: string | URL, fetchFn: typeof fetch = fetch): Promise<LoadedRun> {
  const folder = new URL(String(base).endsWith('/') ? String(base) : `${String(base)}/`, globalThis.location?.href);
  const configUrl = new URL('config.json', folder),
    weightsUrl = new URL('model.safetensors', folder);
  let raw: unknown;
  try {
    raw = await (await fetchOk(configUrl, fetchFn)).json();
  } catch (err) {
    throw new Error(`${configUrl}: ${(err as Error).message}`, { cause: err });
  }
  // Before checkRunConfig, which builds the tokenizer (config.json is not checked yet, so may be anything).
  if ((raw as { tokenizer?: { kind?: unknown } } | null)?.tokenizer?.kind === 'gpt2') {
    const ranksUrl = new URL(GPT2_RANKS_FILE, folder);
    let ranks: unknown;
    try {
      ranks = await (await fetchOk(ranksUrl, fetchFn)).json();
    } catch (err) {
      throw new Error(`${ranksUrl}: ${(err as Error).message} (a gpt2 model's page needs the tokenizer's ranks)`, {
        cause: err,
      });
    }
    provideGpt2Ranks(ranks);
  }
  const run = checkRunConfig(raw, String(folder));
  const bytes = new Uint8Array(await (await fetchOk(weightsUrl, fetchFn)).arrayBuffer());
  const model = modelFromWeights(run, parseSafetensors(bytes, String(weightsUrl)), String(weightsUrl));
  const tokenizer = tokenizerFromSpec(run.tokenizer);
  return { run, model, tokenizer, info: modelInfo(model, tokenizer.kind, bytes.length) };
}

/** What a page shows about a model: loaded (weightBytes: its file's size) or trained in the page (0). */
export function modelInfo(model: Transformer, tokenizer: string, weightBytes: number): ModelInfo {
  const report = describeModel(model);
  return {
    plan: report.plan,
    parameters: report.parameters,
    context: model.config.blockSize,
    contextIsFixed: Number.isFinite(model.maxDecodeLength),
    tokenizer,
    vocabSize: model.config.vocabSize,
    decodeStateBytes: model.decodeStateBytes(),
    weightBytes,
  };
}
