/**
 * The browser's answer for src/data/gpt2-tokenizer.ts (package.json's "browser"
 * field). GPT-2's ranks are about 1 MB of JavaScript in js-tiktoken, as much as
 * the page's whole download budget, so the browser bundle leaves them out: a
 * page runs models with the char and byte tokenizers, and says so for gpt2.
 */
import { UserError } from '../../errors.js';
import type { ByteLevelTokenizer, TokenizerSpec } from '../../data/tokenizer.js';

export class Gpt2Tokenizer implements ByteLevelTokenizer {
  readonly kind = 'gpt2' as const;
  readonly vocabSize = 50257;

  constructor() {
    throw new UserError(
      'the gpt2 tokenizer is not in the browser bundle (its ranks alone are about 1 MB); export a model trained with --tokenizer char or byte',
    );
  }

  encode(): Int32Array {
    return new Int32Array(0);
  }
  decode(): string {
    return '';
  }
  tokenBytes(): Uint8Array {
    return new Uint8Array(0);
  }
  toJSON(): TokenizerSpec {
    return { kind: 'gpt2' };
  }
}
