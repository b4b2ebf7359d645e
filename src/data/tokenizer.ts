// The tokenizer contract and the two ways to get one: fit to a corpus, or
// rebuild from the JSON spec a checkpoint saved.
import { ByteTokenizer } from './byte-tokenizer.js';
import { CharTokenizer } from './char-tokenizer.js';
import { UserError } from './errors.js';
import { Gpt2Tokenizer } from './gpt2-tokenizer.js';
import { IdTokenizer } from './id-tokenizer.js';

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

/** A new tokenizer; only `char` looks at the corpus (its vocabulary is the corpus's symbols). */
export function createTokenizer(kind: AnyTokenizerKind, corpusText: string): Tokenizer {
  if (kind === 'ids') {
    throw new UserError('the ids tokenizer is for synthetic tasks (hsm compare --grid recall); a text corpus needs char, byte or gpt2');
  }
  switch (parseTokenizerKind(kind)) {
    case 'char':
      return CharTokenizer.fromText(corpusText);
    case 'byte':
      return new ByteTokenizer();
    case 'gpt2':
      return new Gpt2Tokenizer();
  }
}

/** Rebuilds a tokenizer from a spec as read back from JSON (so it is checked, not trusted). */
export function tokenizerFromSpec(spec: unknown): Tokenizer {
  const s = spec as Partial<Record<string, unknown>> | null;
  if (s?.kind === 'char' && typeof s.vocab === 'string') return CharTokenizer.fromVocab(s.vocab);
  if (s?.kind === 'byte') return new ByteTokenizer();
  if (s?.kind === 'gpt2') return new Gpt2Tokenizer();
  if (s?.kind === 'ids' && typeof s.vocabSize === 'number') return new IdTokenizer(s.vocabSize);
  throw new UserError(
    `unrecognised tokenizer spec ${JSON.stringify(spec)?.slice(0, 80)}; ` +
      'the checkpoint is damaged or from an incompatible version, so retrain it',
  );
}
