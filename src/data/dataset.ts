// A tokenised corpus split into train/val, sampled into next-token batches
// the way nanoGPT's get_batch does.
import type { Rng } from '../tensor/random.js';
import { UserError } from '../errors.js';
import type { Tokenizer } from './tokenizer.js';

export type Split = 'train' | 'val';

export interface DatasetOptions {
  /** Share of tokens, taken from the end, held out for validation. */
  valFraction?: number;
}

export interface Batch {
  /** B×T input ids, row-major. */
  x: Int32Array;
  /** B×T targets: each row of x shifted left by one token. */
  y: Int32Array;
}

const SPLIT_NAMES: Record<Split, string> = { train: 'training', val: 'validation' };

/** What training and evaluation draw batches from: a tokenised corpus, or a synthetic task. */
export interface BatchSource {
  /** B×T inputs and targets; a target of −1 is not scored (synthetic tasks score only their answers). */
  sampleBatch(split: Split, rng: Rng, batchSize: number, context: number): Batch;
  /** Throws a UserError when the source cannot supply windows of `context` tokens. */
  checkContext(context: number): void;
  /** Tokens in a split (for logs; a generated split counts what it holds or draws per epoch). */
  tokenCount(split: Split): number;
}

export class TokenDataset implements BatchSource {
  readonly train: Int32Array;
  readonly val: Int32Array;

  /** Splits `tokens` (the last valFraction for validation), or takes splits made elsewhere. */
  constructor(tokens: Int32Array | { train: Int32Array; val: Int32Array }, { valFraction = 0.1 }: DatasetOptions = {}) {
    if (!(tokens instanceof Int32Array)) {
      this.train = tokens.train;
      this.val = tokens.val;
      return;
    }
    if (!(valFraction >= 0 && valFraction < 1)) {
      throw new UserError(`validation fraction ${valFraction} is out of range; pass a value in [0, 1), e.g. 0.1`);
    }
    // Contiguous split (not shuffled): validation text is text the model never
    // saw, rather than sentences interleaved with training ones.
    const n = Math.floor(tokens.length * (1 - valFraction));
    this.train = tokens.subarray(0, n);
    this.val = tokens.subarray(n);
  }

  static fromText(text: string, tokenizer: Tokenizer, opts: DatasetOptions = {}): TokenDataset {
    return new TokenDataset(tokenizer.encode(text), opts);
  }

  /** A dataset whose split was made elsewhere (a token folder). */
  static fromSplits(train: Int32Array, val: Int32Array): TokenDataset {
    return new TokenDataset({ train, val });
  }

  split(split: Split): Int32Array {
    return split === 'train' ? this.train : this.val;
  }

  tokenCount(split: Split): number {
    return this.split(split).length;
  }

  /** Throws a UserError unless every split (or the given ones) can supply one window of `context` + 1 tokens. */
  checkContext(context: number, splits: readonly Split[] = ['train', 'val']): void {
    for (const s of splits) {
      const have = this.split(s).length;
      if (have < context + 1) {
        throw new UserError(
          `the ${SPLIT_NAMES[s]} split has ${have} tokens, but --context ${context} needs at least ${context + 1}; ` +
            'pass a smaller --context or a bigger corpus',
        );
      }
    }
  }

  /** `batchSize` windows at uniform random offsets: ix ~ randint(len − context), x = data[ix : ix+T], y = data[ix+1 : ix+T+1]. */
  sampleBatch(split: Split, rng: Rng, batchSize: number, context: number): Batch {
    if (!Number.isInteger(batchSize) || batchSize < 1 || !Number.isInteger(context) || context < 1) {
      throw new RangeError(`batch size and context must be positive integers (got ${batchSize}, ${context})`);
    }
    this.checkContext(context, [split]);
    const data = this.split(split);
    const x = new Int32Array(batchSize * context);
    const y = new Int32Array(batchSize * context);
    for (let b = 0; b < batchSize; b++) {
      const start = rng.int(data.length - context);
      x.set(data.subarray(start, start + context), b * context);
      y.set(data.subarray(start + 1, start + context + 1), b * context);
    }
    return { x, y };
  }
}
