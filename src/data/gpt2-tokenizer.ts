// GPT-2's byte-level BPE (50257 tokens) via js-tiktoken, whose ranks ship
// inside the package, so nothing is downloaded.
import { createRequire } from 'node:module';
import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite';
import type { ByteLevelTokenizer, TokenizerSpec } from './tokenizer.js';

interface Gpt2Tables {
  bpe: Tiktoken;
  /** Compiled pre-tokenisation pattern (GPT-2 merges never cross its matches). */
  pattern: RegExp;
  /** Bytes of every token id, for decoding and for streaming partial characters. */
  bytes: Uint8Array[];
}

const VOCAB_SIZE = 50257;
// Repeated words dominate real text, so caching each piece's ids makes
// encoding several times faster. Capped so odd inputs cannot grow it forever.
const PIECE_CACHE_LIMIT = 500_000;

const require = createRequire(import.meta.url);
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
let tables: Gpt2Tables | null = null;
const pieceCache = new Map<string, readonly number[]>();

/** Loaded on first use: parsing the ranks takes a few hundred ms that char/byte users should not pay. */
function gpt2Tables(): Gpt2Tables {
  if (tables) return tables;
  // CommonJS builds, so loading stays synchronous.
  const { Tiktoken } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
  const ranks = require('js-tiktoken/ranks/gpt2') as TiktokenBPE;
  const bpe = new Tiktoken(ranks);
  const bytes = tokenByteTable(ranks);
  tables = { bpe, pattern: new RegExp(ranks.pat_str, 'gu'), bytes };
  return tables;
}

/**
 * js-tiktoken's decode returns a string, which loses the bytes of tokens that
 * end mid-character, so rebuild id → bytes from the packed ranks: lines of
 * `<tag> <first id> <base64 token> <base64 token> ...` with consecutive ids.
 */
function tokenByteTable(ranks: TiktokenBPE): Uint8Array[] {
  const table: Uint8Array[] = new Array(VOCAB_SIZE);
  for (const line of ranks.bpe_ranks.split('\n')) {
    const [, first, ...tokens] = line.split(' ');
    if (first === undefined) continue;
    tokens.forEach((b64, i) => (table[Number(first) + i] = new Uint8Array(Buffer.from(b64, 'base64'))));
  }
  for (const [text, id] of Object.entries(ranks.special_tokens)) table[id] = new TextEncoder().encode(text);
  const missing = table.findIndex((b) => b === undefined);
  if (table.length !== VOCAB_SIZE || missing >= 0) {
    throw new Error(
      `js-tiktoken gpt2 ranks have an unexpected layout (id ${missing} missing); check the js-tiktoken version`,
    );
  }
  return table;
}

export class Gpt2Tokenizer implements ByteLevelTokenizer {
  readonly kind = 'gpt2' as const;
  readonly vocabSize = VOCAB_SIZE;

  /**
   * Ordinary-text encoding (tiktoken's encode_ordinary, as nanoGPT uses):
   * a literal "<|endoftext|>" in the corpus is text, not the special token.
   */
  encode(text: string): Int32Array {
    const { bpe, pattern } = gpt2Tables();
    const out = new Int32Array(Buffer.byteLength(text, 'utf8')); // at most one token per byte
    let n = 0;
    for (const [piece] of text.matchAll(pattern)) {
      let ids = pieceCache.get(piece);
      if (ids === undefined) {
        ids = bpe.encode(piece, [], []);
        if (pieceCache.size < PIECE_CACHE_LIMIT) pieceCache.set(piece, ids);
      }
      for (const id of ids) out[n++] = id;
    }
    return out.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    const parts = Array.from(ids, (id) => this.tokenBytes(id));
    return decoder.decode(Buffer.concat(parts));
  }

  tokenBytes(id: number): Uint8Array {
    const bytes = gpt2Tables().bytes[id];
    if (bytes === undefined) throw new RangeError(`token id ${id} is outside the gpt2 vocabulary (size ${VOCAB_SIZE})`);
    return bytes;
  }

  toJSON(): TokenizerSpec {
    return { kind: 'gpt2' };
  }
}
