// The two ways to get a tokenizer: fit one to a corpus, or rebuild the one a
// checkpoint saved from its JSON spec.
import { UserError } from '../errors.js';
import { ByteTokenizer } from './byte-tokenizer.js';
import { CharTokenizer } from './char-tokenizer.js';
import { Gpt2Tokenizer } from './gpt2-tokenizer.js';
import { IdTokenizer } from './id-tokenizer.js';
import { parseTokenizerKind, type AnyTokenizerKind, type Tokenizer } from './tokenizer.js';

/** A new tokenizer; only `char` looks at the corpus (its vocabulary is the corpus's symbols). */
export function createTokenizer(kind: AnyTokenizerKind, corpusText: string): Tokenizer {
  if (kind === 'ids') {
    throw new UserError(
      'the ids tokenizer is for synthetic tasks (hsm compare --grid recall); a text corpus needs char, byte or gpt2',
    );
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
