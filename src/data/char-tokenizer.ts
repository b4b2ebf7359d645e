// One token per Unicode code point seen in the corpus, like nanoGPT's
// shakespeare_char (vocabulary = sorted(set(text))).
import { UserError } from '../errors.js';
import type { Tokenizer, TokenizerSpec } from './tokenizer.js';

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  private readonly symbols: string[];
  private readonly ids: Map<number, number>;

  private constructor(symbols: string[]) {
    this.symbols = symbols;
    this.vocabSize = symbols.length;
    this.ids = new Map(symbols.map((s, i) => [s.codePointAt(0)!, i]));
  }

  static fromText(text: string): CharTokenizer {
    const codes = new Set<number>();
    for (const ch of text) codes.add(ch.codePointAt(0)!);
    // Numeric sort = code-point order, as Python's sorted(); the default JS
    // string sort compares UTF-16 units and misorders astral characters.
    return new CharTokenizer([...codes].sort((a, b) => a - b).map((c) => String.fromCodePoint(c)));
  }

  /** From a saved vocabulary; it must be distinct code points in ascending order. */
  static fromVocab(vocab: string): CharTokenizer {
    const symbols = Array.from(vocab);
    const ok = symbols.every((s, i) => i === 0 || symbols[i - 1].codePointAt(0)! < s.codePointAt(0)!);
    if (!ok || symbols.length === 0) {
      throw new UserError(
        'the char tokenizer vocabulary in the checkpoint is not sorted distinct characters; the checkpoint is damaged, so retrain it',
      );
    }
    return new CharTokenizer(symbols);
  }

  encode(text: string): Int32Array {
    const out = new Int32Array(text.length); // code points <= UTF-16 units
    let n = 0;
    for (const ch of text) {
      const id = this.ids.get(ch.codePointAt(0)!);
      if (id === undefined) throw this.unknown(ch, n);
      out[n++] = id;
    }
    return out.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const s = this.symbols[ids[i]];
      if (s === undefined)
        throw new RangeError(`token id ${ids[i]} is outside the char vocabulary (size ${this.vocabSize})`);
      text += s;
    }
    return text;
  }

  toJSON(): TokenizerSpec {
    return { kind: 'char', vocab: this.symbols.join('') };
  }

  private unknown(ch: string, index: number): UserError {
    const code = 'U+' + ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return new UserError(
      `character ${JSON.stringify(ch)} (${code}) at character ${index} is not in the char vocabulary ` +
        `(${this.vocabSize} symbols taken from the training corpus); remove it from the text, or train with --tokenizer byte`,
    );
  }
}
