import { UserError } from '../errors.js';

/**
 * A layer plan: which token mixer each block uses. Written as JSON (a list of
 * blocks) or as a short string:
 *
 *   plan   := item ("," item)*
 *   item   := atom ("*" count)?
 *   atom   := "attn" | "hsm:" name options? | "(" plan ")"
 *   options:= "[" key ("=" value)? ("," key ("=" value)?)* "]"
 *
 * e.g. "attn*4" (GPT), "hsm:ab*6", "(hsm:ab*3,attn)*2", "hsm:conv[k=3,proj]*6".
 */
export interface BlockSpec {
  /** "attn" or the name of an HSM mixer ("ab", "channel", …). */
  mixer: string;
  options: Record<string, number | boolean>;
}

/** The deepest plan accepted (GPT-3 has 96 blocks); deeper ones are typos, checked before anything is built. */
export const MAX_BLOCKS = 256;

export function parsePlan(text: string): BlockSpec[] {
  const src = text.replace(/\s+/g, '');
  let pos = 0;
  const fail = (what: string): never => {
    throw new UserError(
      `layer plan "${text}": ${what} at position ${pos + 1}; expected e.g. "hsm:ab*3,attn" or "(hsm:gated*3,attn)*2"`,
    );
  };
  const peek = () => src[pos];
  const eat = (c: string) => {
    if (src[pos] !== c) fail(`expected "${c}"`);
    pos++;
  };
  const word = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(pos));
    if (!m) fail('expected a name');
    pos += m![0].length;
    return m![0];
  };
  const number = (): number => {
    const m = /^\d+(\.\d+)?/.exec(src.slice(pos));
    if (!m) fail('expected a number');
    pos += m![0].length;
    return Number(m![0]);
  };
  const options = (): Record<string, number | boolean> => {
    const out: Record<string, number | boolean> = {};
    if (peek() !== '[') return out;
    eat('[');
    for (;;) {
      const key = word();
      if (peek() === '=') {
        eat('=');
        out[key] = number();
      } else out[key] = true;
      if (peek() === ',') eat(',');
      else break;
    }
    eat(']');
    return out;
  };
  const atom = (): BlockSpec[] => {
    if (peek() === '(') {
      eat('(');
      const inner = plan();
      eat(')');
      return inner;
    }
    const name = word();
    if (name === 'attn') return [{ mixer: 'attn', options: options() }];
    if (name !== 'hsm') fail(`unknown block "${name}" (use attn or hsm:<mixer>)`);
    eat(':');
    const mixer = word();
    return [{ mixer, options: options() }];
  };
  const item = (): BlockSpec[] => {
    const blocks = atom();
    if (peek() !== '*') return blocks;
    eat('*');
    const n = number();
    if (!Number.isInteger(n) || n < 1) fail('a repeat count must be a positive integer');
    if (n * blocks.length > MAX_BLOCKS)
      fail(`${n} × ${blocks.length} blocks is more than the ${MAX_BLOCKS} a plan may have`);
    return Array.from({ length: n }, () => blocks.map((b) => ({ mixer: b.mixer, options: { ...b.options } }))).flat();
  };
  const plan = (): BlockSpec[] => {
    const blocks = item();
    while (peek() === ',') {
      eat(',');
      blocks.push(...item());
      if (blocks.length > MAX_BLOCKS) fail(`more than the ${MAX_BLOCKS} blocks a plan may have`);
    }
    return blocks;
  };
  const blocks = plan();
  if (pos !== src.length) fail(`unexpected "${src[pos]}"`);
  return blocks;
}

/** The short string form of a plan, run-length encoded ("hsm:ab*3,attn"). */
export function formatPlan(blocks: BlockSpec[]): string {
  const one = (b: BlockSpec) => {
    const opts = Object.entries(b.options).map(([k, v]) => (v === true ? k : `${k}=${v}`));
    return (b.mixer === 'attn' ? 'attn' : `hsm:${b.mixer}`) + (opts.length ? `[${opts.join(',')}]` : '');
  };
  const parts: string[] = [];
  let i = 0;
  while (i < blocks.length) {
    const s = one(blocks[i]);
    let n = 1;
    while (i + n < blocks.length && one(blocks[i + n]) === s) n++;
    parts.push(n > 1 ? `${s}*${n}` : s);
    i += n;
  }
  return parts.join(',');
}
