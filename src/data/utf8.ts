import { UserError } from '../errors.js';

// fatal: reject bad bytes instead of silently training on U+FFFD.
// ignoreBOM: keep a BOM so byte offsets line up; decodeStrictUtf8 strips it itself.
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Decodes UTF-8 or throws a UserError naming `label` and the byte offset of
 * the first invalid sequence. A leading byte-order mark is dropped.
 */
export function decodeStrictUtf8(bytes: Uint8Array, label: string): string {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    const offset = firstInvalidOffset(bytes);
    throw new UserError(
      `${label} is not valid UTF-8 (first invalid byte sequence at byte offset ${offset}); ` +
        'convert it to UTF-8 first, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt`',
    );
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The decoder's error carries no position, so find it from a lenient decode:
 * everything before a U+FFFD decoded cleanly, so its UTF-8 length is the byte
 * offset. A U+FFFD that was really in the file (bytes EF BF BD) is skipped.
 */
export function firstInvalidOffset(bytes: Uint8Array): number {
  const text = lenient.decode(bytes);
  let offset = 0;
  let from = 0;
  for (;;) {
    const at = text.indexOf('\ufffd', from);
    if (at < 0) return -1;
    offset += Buffer.byteLength(text.slice(from, at), 'utf8');
    if (bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd) {
      offset += 3;
      from = at + 1;
      continue;
    }
    return offset;
  }
}
