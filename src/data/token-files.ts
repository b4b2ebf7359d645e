// Token folders: a corpus tokenised once, in files both engines read (the
// torch engine memory-maps them as nanoGPT's train.py does).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { describeZodError, UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { makeFolder } from '../io/folders.js';
import { TokenDataset } from './dataset.js';
import type { Tokenizer, TokenizerSpec } from './tokenizer.js';
import { tokenizerFromSpec } from './tokenizers.js';

/**
 * A folder holds train.bin and val.bin (little-endian uint16 when the
 * vocabulary fits, else uint32) and tokens.json describing them. The split
 * is fixed when the folder is written, so every run that reads it, in either
 * engine, validates on the same tokens.
 */
export const TOKENS_FORMAT = 'hsm-tokens/1';
const META_FILE = 'tokens.json';

const TokenFolderMetaSchema = z
  .object({
    format: z.literal(TOKENS_FORMAT),
    tokenizer: z.unknown(),
    vocab_size: z
      .number()
      .int()
      .min(1)
      .max(2 ** 32),
    dtype: z.enum(['uint16', 'uint32']),
    train_tokens: z.number().int().nonnegative(),
    val_tokens: z.number().int().nonnegative(),
    val_fraction: z.number().min(0).lt(1),
    source: z.string(),
  })
  .strict();

export type TokenFolderMeta = z.infer<typeof TokenFolderMetaSchema> & { tokenizer: TokenizerSpec };

/** Whether `path` is a token folder (it holds tokens.json). */
export function isTokenFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, META_FILE));
  } catch {
    return false;
  }
}

/** Writes a dataset's splits into `dir` (atomically, file by file; tokens.json last, so a half-written folder is not one). */
export function writeTokenFolder(
  dir: string,
  tokenizer: Tokenizer,
  data: TokenDataset,
  info: { source: string; valFraction: number },
): TokenFolderMeta {
  makeFolder(dir, 'token folder');
  const dtype = tokenizer.vocabSize <= 65536 ? 'uint16' : 'uint32';
  const Typed = dtype === 'uint16' ? Uint16Array : Uint32Array;
  for (const [name, split] of [
    ['train.bin', data.train],
    ['val.bin', data.val],
  ] as const) {
    const typed = Typed.from(split);
    // Typed arrays are in the machine's byte order; every platform Node runs on is little-endian.
    writeFileAtomic(join(dir, name), new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  }
  const meta: TokenFolderMeta = {
    format: TOKENS_FORMAT,
    tokenizer: tokenizer.toJSON(),
    vocab_size: tokenizer.vocabSize,
    dtype,
    train_tokens: data.train.length,
    val_tokens: data.val.length,
    val_fraction: info.valFraction,
    source: info.source,
  };
  writeFileAtomic(join(dir, META_FILE), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

/** Reads a token folder, checking its description, the files' sizes and every token id against the vocabulary. */
export function readTokenFolder(dir: string): { meta: TokenFolderMeta; tokenizer: Tokenizer; data: TokenDataset } {
  const metaPath = join(dir, META_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (err) {
    throw new UserError(`token folder ${dir}: ${META_FILE} cannot be read as JSON (${(err as Error).message})`);
  }
  const parsed = TokenFolderMetaSchema.safeParse(raw);
  if (!parsed.success)
    throw new UserError(
      `token folder ${dir}: ${META_FILE}: ${describeZodError(parsed.error)}; write it again with hsm tokenize`,
    );
  const meta = parsed.data as TokenFolderMeta;
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromSpec(meta.tokenizer);
  } catch (err) {
    throw new UserError(`token folder ${dir}: ${(err as Error).message}`);
  }
  if (tokenizer.vocabSize !== meta.vocab_size)
    throw new UserError(
      `token folder ${dir}: its tokenizer has ${tokenizer.vocabSize} tokens but vocab_size says ${meta.vocab_size}`,
    );
  const width = meta.dtype === 'uint16' ? 2 : 4;
  const read = (name: string, count: number): Int32Array => {
    const path = join(dir, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new UserError(`token folder ${dir}: cannot read ${name} (${(err as NodeJS.ErrnoException).code})`);
    }
    if (bytes.length !== count * width)
      throw new UserError(
        `token folder ${dir}: ${name} holds ${bytes.length} bytes but ${META_FILE} says ${count} ${meta.dtype} tokens ` +
          `(${count * width} bytes); truncated? write it again with hsm tokenize`,
      );
    const aligned = new Uint8Array(bytes); // a copy at offset 0, so the typed view below is aligned
    const ids = Int32Array.from(
      width === 2 ? new Uint16Array(aligned.buffer, 0, count) : new Uint32Array(aligned.buffer, 0, count),
    );
    // Token ids index the embedding without a check in the kernels: refuse any outside the vocabulary.
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= meta.vocab_size)
        throw new UserError(
          `token folder ${dir}: ${name} has token ${ids[i] >>> 0} at position ${i}, outside the vocabulary of ${meta.vocab_size}`,
        );
    }
    return ids;
  };
  const data = TokenDataset.fromSplits(read('train.bin', meta.train_tokens), read('val.bin', meta.val_tokens));
  return { meta, tokenizer, data };
}
