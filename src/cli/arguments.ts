// Parsers for numeric command-line values: each states its allowed range, so
// a bad value is commander's one-line "argument … is invalid" error (exit 2).
import { InvalidArgumentError } from 'commander';

/** An integer from min to max. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A number from min to max; `above` excludes min itself (e.g. top-p in (0, 1]). */
export function numberIn(min: number, max: number, opts: { above?: boolean } = {}): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (opts.above && n === min))
      throw new InvalidArgumentError(
        `expected a number ${opts.above ? 'above' : 'from'} ${min}${opts.above ? ', at most' : ' to'} ${max}`,
      );
    return n;
  };
}

/** A comma-separated list of integers from min to max ("1,2"). */
export function integerListIn(min: number, max: number): (value: string) => number[] {
  const one = integerIn(min, max);
  return (value) => {
    try {
      return value.split(',').map((v) => one(v.trim()));
    } catch {
      throw new InvalidArgumentError(`expected integers from ${min} to ${max} separated by commas, like "1,2"`);
    }
  };
}

/** A repeatable option (`--ckpt a --ckpt b`): each use appends to the list. */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
