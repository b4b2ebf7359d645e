// What a run trains and evaluates on: a corpus tokenised now, or a token
// folder tokenised before (`hsm tokenize`). Both give a tokenizer and splits.
import { loadCorpus, type Corpus } from './corpus.js';
import { TokenDataset } from './dataset.js';
import { UserError } from '../errors.js';
import { isTokenFolder, readTokenFolder } from './token-files.js';
import type { AnyTokenizerKind, Tokenizer } from './tokenizer.js';
import { createTokenizer } from './tokenizers.js';

export interface TextData {
  /** Short name (the corpus or the token folder's). */
  name: string;
  tokenizer: Tokenizer;
  data: TokenDataset;
  /** The validation share the splits were made with (a token folder's own). */
  valFraction: number;
  /** The token folder read, or null when a corpus was tokenised now. */
  tokenFolder: string | null;
}

/** For a new run: a corpus gets a tokenizer of `kind` fitted to it; a token folder brings its own, which must be of `kind`. */
export function openTextData(spec: string, kind: AnyTokenizerKind, valFraction: number): TextData {
  if (isTokenFolder(spec)) {
    const folder = readTokenFolder(spec);
    if (folder.tokenizer.kind !== kind)
      throw new UserError(
        `token folder ${spec} was tokenised with ${folder.tokenizer.kind}, but the run asks for --tokenizer ${kind}; ` +
          `pass --tokenizer ${folder.tokenizer.kind} or tokenise the corpus again`,
      );
    return fromFolder(spec, folder);
  }
  const corpus = loadCorpus(spec);
  return textFromCorpus(corpus, createTokenizer(kind, corpus.text), valFraction);
}

/** For a saved run: its tokenizer encodes a corpus; a token folder must have been made with that very tokenizer. */
export function openTextDataWith(spec: string, tokenizer: Tokenizer, valFraction: number): TextData {
  if (isTokenFolder(spec)) {
    const folder = readTokenFolder(spec);
    if (JSON.stringify(folder.tokenizer.toJSON()) !== JSON.stringify(tokenizer.toJSON()))
      throw new UserError(
        `token folder ${spec} was made with another tokenizer (${folder.tokenizer.kind}, ${folder.tokenizer.vocabSize} tokens) ` +
          `than the model's (${tokenizer.kind}, ${tokenizer.vocabSize} tokens); tokenise the corpus with the model's tokenizer`,
      );
    return fromFolder(spec, folder);
  }
  return textFromCorpus(loadCorpus(spec), tokenizer, valFraction);
}

/** A corpus already in memory, tokenised and split. */
export function textFromCorpus(corpus: Corpus, tokenizer: Tokenizer, valFraction: number): TextData {
  return {
    name: corpus.name,
    tokenizer,
    data: TokenDataset.fromText(corpus.text, tokenizer, { valFraction }),
    valFraction,
    tokenFolder: null,
  };
}

function fromFolder(spec: string, folder: ReturnType<typeof readTokenFolder>): TextData {
  const name = folder.meta.source.replace(/^.*[\\/]/, '').replace(/\.txt$/i, '') || spec;
  return {
    name,
    tokenizer: folder.tokenizer,
    data: folder.data,
    valFraction: folder.meta.val_fraction,
    tokenFolder: spec,
  };
}
