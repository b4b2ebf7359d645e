import { z } from 'zod';
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
const TokenizerSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('char'), vocab: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('byte') }).strict(),
  z.object({ kind: z.literal('gpt2') }).strict(),
  z
    .object({
      kind: z.literal('ids'),
      vocabSize: z
        .number()
        .int()
        .min(1)
        .max(1 << 21),
    })
    .strict(),
]);

export function tokenizerFromSpec(spec: unknown): Tokenizer {
  const parsed = TokenizerSpecSchema.safeParse(spec);
  const s = parsed.success ? parsed.data : null;
  if (s?.kind === 'char') return CharTokenizer.fromVocab(s.vocab);
  if (s?.kind === 'byte') return new ByteTokenizer();
  if (s?.kind === 'gpt2') return new Gpt2Tokenizer();
  if (s?.kind === 'ids') return new IdTokenizer(s.vocabSize);
  throw new UserError(
    `unrecognised tokenizer spec ${JSON.stringify(spec)?.slice(0, 80)}; ` +
      'the checkpoint is damaged or from an incompatible version, so retrain it',
  );
}
