// The tokenizer contract: what every tokenizer implements and the JSON a
// checkpoint stores. tokenizers.ts makes one.
import { UserError } from '../errors.js';

export const TOKENIZER_KINDS = ['char', 'byte', 'gpt2'] as const;
export type TokenizerKind = (typeof TOKENIZER_KINDS)[number];
/** Text tokenizers plus `ids`: the integer tokens of a synthetic task, which no corpus is fit to. */
export type AnyTokenizerKind = TokenizerKind | 'ids';

/** Plain JSON, stored in checkpoints; enough to rebuild the exact tokenizer. */
export type TokenizerSpec =
  | { kind: 'char'; /** Every symbol once, sorted by code point. */ vocab: string }
  | { kind: 'byte' }
  | { kind: 'gpt2' }
  | { kind: 'ids'; vocabSize: number };

export interface Tokenizer {
  readonly kind: AnyTokenizerKind;
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  /** Lenient: bytes that do not form whole characters become U+FFFD. */
  decode(ids: ArrayLike<number>): string;
  toJSON(): TokenizerSpec;
}

/** Tokenizers whose tokens are byte strings (byte, gpt2): one token may hold part of a character. */
export interface ByteLevelTokenizer extends Tokenizer {
  tokenBytes(id: number): Uint8Array;
}

export function isByteLevel(t: Tokenizer): t is ByteLevelTokenizer {
  return typeof (t as Partial<ByteLevelTokenizer>).tokenBytes === 'function';
}

/** Validates a --tokenizer argument. */
export function parseTokenizerKind(value: string): TokenizerKind {
  if ((TOKENIZER_KINDS as readonly string[]).includes(value)) return value as TokenizerKind;
  throw new UserError(`unknown tokenizer "${value}"; use one of: ${TOKENIZER_KINDS.join(', ')}`);
}
