// Decoding generated tokens one at a time without printing half characters:
// a byte or gpt2 token can end in the middle of a multibyte UTF-8 sequence.
import { isByteLevel, type Tokenizer } from './tokenizer.js';

export interface StreamDecoder {
  /** Text completed by this token; possibly '' while a character is still partial. */
  push(id: number): string;
  /** Whatever is still pending (an unfinished character becomes U+FFFD). */
  flush(): string;
}

export function createStreamDecoder(tokenizer: Tokenizer): StreamDecoder {
  if (!isByteLevel(tokenizer)) {
    // Char tokens are whole code points already.
    return { push: (id) => tokenizer.decode([id]), flush: () => '' };
  }
  // TextDecoder's stream mode holds back incomplete sequences for us.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    push: (id) => decoder.decode(tokenizer.tokenBytes(id), { stream: true }),
    flush: () => decoder.decode(),
  };
}
