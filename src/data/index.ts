// The data layer: corpora → tokenizers → token datasets and batches.
export { BUILTIN_CORPORA, DEFAULT_CORPUS, loadCorpus, type Corpus } from './corpus.js';
export {
  TOKENIZER_KINDS,
  parseTokenizerKind,
  type Tokenizer,
  type TokenizerKind,
  type TokenizerSpec,
} from './tokenizer.js';
export { createTokenizer, tokenizerFromSpec } from './tokenizers.js';
export { createStreamDecoder, type StreamDecoder } from './stream-decoder.js';
export { TokenDataset, type Batch, type BatchSource, type DatasetOptions, type Split } from './dataset.js';
export { IdTokenizer } from './id-tokenizer.js';
