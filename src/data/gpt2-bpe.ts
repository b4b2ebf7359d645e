// GPT-2's byte-level BPE (50257 tokens) over js-tiktoken's gpt2 ranks, with
// no Node import: the Node tokenizer (gpt2-tokenizer.ts) and the browser's
// (src/browser/platform/gpt2-tokenizer.ts) differ only in where the ranks come
// from (the js-tiktoken package on disk; gpt2-ranks.json fetched beside the model).
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import type { ByteLevelTokenizer, TokenizerSpec } from './tokenizer.js';

/** js-tiktoken's ranks object: `{ pat_str, special_tokens, bpe_ranks }` (also what gpt2-ranks.json holds). */
export type Gpt2Ranks = TiktokenBPE;

export const GPT2_VOCAB_SIZE = 50257;
/** The ranks as JSON beside a model a page loads (`hsm export --web`'s model/, `hsm serve`'s /web/<id>/model/). */
export const GPT2_RANKS_FILE = 'gpt2-ranks.json';
// Repeated words dominate real text, so caching each piece's ids makes
// encoding several times faster. Capped so odd inputs cannot grow it forever.
const PIECE_CACHE_LIMIT = 500_000;

interface Gpt2Tables {
  bpe: Tiktoken;
  /** Compiled pre-tokenisation pattern (GPT-2 merges never cross its matches). */
  pattern: RegExp;
  /** Bytes of every token id, for decoding and for streaming partial characters. */
  bytes: Uint8Array[];
  pieceCache: Map<string, readonly number[]>;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const tablesByRanks = new WeakMap<Gpt2Ranks, Gpt2Tables>();

/** Built once per ranks object, on first use: parsing the ranks takes a few hundred ms. */
function gpt2Tables(ranks: Gpt2Ranks): Gpt2Tables {
  let tables = tablesByRanks.get(ranks);
  if (!tables) {
    tables = {
      bpe: new Tiktoken(ranks),
      pattern: new RegExp(ranks.pat_str, 'gu'),
      bytes: tokenByteTable(ranks),
      pieceCache: new Map(),
    };
    tablesByRanks.set(ranks, tables);
  }
  return tables;
}

function base64Bytes(b64: string): Uint8Array {
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * js-tiktoken's decode returns a string, which loses the bytes of tokens that
 * end mid-character, so rebuild id → bytes from the packed ranks: lines of
 * `<tag> <first id> <base64 token> <base64 token> ...` with consecutive ids.
 */
function tokenByteTable(ranks: Gpt2Ranks): Uint8Array[] {
  const table: Uint8Array[] = new Array(GPT2_VOCAB_SIZE);
  for (const line of ranks.bpe_ranks.split('\n')) {
    const [, first, ...tokens] = line.split(' ');
    if (first === undefined) continue;
    tokens.forEach((b64, i) => (table[Number(first) + i] = base64Bytes(b64)));
  }
  for (const [text, id] of Object.entries(ranks.special_tokens)) table[id] = new TextEncoder().encode(text);
  const missing = table.findIndex((b) => b === undefined);
  if (table.length !== GPT2_VOCAB_SIZE || missing >= 0) {
    throw new Error(
      `js-tiktoken gpt2 ranks have an unexpected layout (id ${missing} missing); check the js-tiktoken version`,
    );
  }
  return table;
}

/** Bytes of `text` in UTF-8 (a lone surrogate counts as U+FFFD's 3, as TextEncoder writes it). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The GPT-2 tokenizer over ranks from `loadRanks`, called on first use (not at construction). */
export class Gpt2Bpe implements ByteLevelTokenizer {
  readonly kind = 'gpt2' as const;
  readonly vocabSize = GPT2_VOCAB_SIZE;
  readonly #loadRanks: () => Gpt2Ranks;
  #loaded: Gpt2Tables | null = null;

  constructor(loadRanks: () => Gpt2Ranks) {
    this.#loadRanks = loadRanks;
  }

  #tables(): Gpt2Tables {
    return (this.#loaded ??= gpt2Tables(this.#loadRanks()));
  }

  /**
   * Ordinary-text encoding (tiktoken's encode_ordinary, as nanoGPT uses):
   * a literal "<|endoftext|>" in the corpus is text, not the special token.
   */
  encode(text: string): Int32Array {
    const { bpe, pattern, pieceCache } = this.#tables();
    const out = new Int32Array(utf8Length(text)); // at most one token per byte
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
    return decoder.decode(concatBytes(parts));
  }

  tokenBytes(id: number): Uint8Array {
    const bytes = this.#tables().bytes[id];
    if (bytes === undefined)
      throw new RangeError(`token id ${id} is outside the gpt2 vocabulary (size ${GPT2_VOCAB_SIZE})`);
    return bytes;
  }

  toJSON(): TokenizerSpec {
    return { kind: 'gpt2' };
  }
}
