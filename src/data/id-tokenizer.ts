// Integer tokens of a synthetic task (the recall benchmark): no text behind them,
// so "text" is the ids written out, separated by spaces.
import { UserError } from '../errors.js';
import type { Tokenizer, TokenizerSpec } from './tokenizer.js';

export class IdTokenizer implements Tokenizer {
  readonly kind = 'ids' as const;

  constructor(readonly vocabSize: number) {
    if (!Number.isInteger(vocabSize) || vocabSize < 2)
      throw new RangeError(`an id vocabulary needs at least 2 ids, got ${vocabSize}`);
  }

  /** "3 17 5" → [3, 17, 5]; anything that is not an id in range is an error. */
  encode(text: string): Int32Array {
    const words = text.trim() === '' ? [] : text.trim().split(/\s+/);
    return Int32Array.from(words, (w) => {
      const id = Number(w);
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new UserError(
          `"${w}" is not a token id of this model (integers 0..${this.vocabSize - 1}, separated by spaces)`,
        );
      }
      return id;
    });
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (id) => String(id)).join(' ');
  }

  toJSON(): TokenizerSpec {
    return { kind: 'ids', vocabSize: this.vocabSize };
  }
}
