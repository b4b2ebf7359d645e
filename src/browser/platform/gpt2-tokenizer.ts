/**
 * The browser's answer for src/data/gpt2-tokenizer.ts (package.json's "browser"
 * field): the same BPE (src/data/gpt2-bpe.ts), but GPT-2's ranks (about 0.5 MB)
 * are not in the bundle, whose whole code budget is 1 MB. They are model-side
 * data: `hsm export --web` writes them beside the model as gpt2-ranks.json, and
 * loadRun (../load-run.ts) fetches them for gpt2 models and hands them to
 * provideGpt2Ranks before building the tokenizer.
 */
import { UserError } from '../../errors.js';
import { Gpt2Bpe, type Gpt2Ranks } from '../../data/gpt2-bpe.js';

let provided: Gpt2Ranks | null = null;

/** Sets the ranks every later Gpt2Tokenizer uses: js-tiktoken's gpt2 ranks object, as parsed from gpt2-ranks.json. */
export function provideGpt2Ranks(ranks: unknown): void {
  const r = ranks as Partial<Gpt2Ranks> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.pat_str !== 'string' ||
    typeof r.bpe_ranks !== 'string' ||
    typeof r.special_tokens !== 'object' ||
    r.special_tokens === null
  )
    throw new UserError(
      'gpt2-ranks.json is not js-tiktoken gpt2 ranks (an object with pat_str, special_tokens and bpe_ranks); export the model again',
    );
  provided = r as Gpt2Ranks;
}

function providedRanks(): Gpt2Ranks {
  if (!provided)
    throw new UserError(
      'the gpt2 tokenizer has no ranks in the browser: they are not in the bundle but fetched beside the model (model/gpt2-ranks.json, written by hsm export --web); load the model with loadRun, or call provideGpt2Ranks first',
    );
  return provided;
}

export class Gpt2Tokenizer extends Gpt2Bpe {
  constructor() {
    const ranks = providedRanks();
    super(() => ranks);
  }
}
