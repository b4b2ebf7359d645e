// GPT-2's byte-level BPE (50257 tokens) in Node: js-tiktoken's ranks ship
// inside the package, so nothing is downloaded. The BPE itself is gpt2-bpe.ts,
// shared with the browser bundle, whose ranks are fetched beside the model
// (src/browser/platform/gpt2-tokenizer.ts).
import { createRequire } from 'node:module';
import { Gpt2Bpe, type Gpt2Ranks } from './gpt2-bpe.js';

const require = createRequire(import.meta.url);
let ranks: Gpt2Ranks | null = null;

/** js-tiktoken's gpt2 ranks, loaded on first use (CommonJS, so synchronously): char/byte users do not pay for them. */
export function gpt2Ranks(): Gpt2Ranks {
  return (ranks ??= require('js-tiktoken/ranks/gpt2') as Gpt2Ranks);
}

/** The ranks as gpt2-ranks.json holds them, for pages that run gpt2 models (see GPT2_RANKS_FILE). */
export function gpt2RanksJson(): string {
  return JSON.stringify(gpt2Ranks());
}

export class Gpt2Tokenizer extends Gpt2Bpe {
  constructor() {
    super(gpt2Ranks);
  }
}
