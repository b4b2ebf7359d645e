// One token per UTF-8 byte: a fixed 256-symbol vocabulary that can encode any text.
import type { ByteLevelTokenizer, TokenizerSpec } from './tokenizer.js';

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF, so decode(encode(s)) === s.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const SINGLE_BYTES = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

export class ByteTokenizer implements ByteLevelTokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize = 256;

  encode(text: string): Int32Array {
    return new Int32Array(encoder.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) bytes[i] = this.tokenBytes(ids[i])[0];
    return decoder.decode(bytes);
  }

  tokenBytes(id: number): Uint8Array {
    const bytes = SINGLE_BYTES[id];
    if (bytes === undefined) throw new RangeError(`token id ${id} is not a byte (0..255)`);
    return bytes;
  }

  toJSON(): TokenizerSpec {
    return { kind: 'byte' };
  }
}
