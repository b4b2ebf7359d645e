// Seeded random numbers: the mulberry32 PRNG, a stream per name, and the helpers the mutation generators draw with.
import { createHash } from 'node:crypto';

export type Rand = () => number;

/** A small deterministic PRNG (mulberry32): the same seed gives the same mutants on every machine. */
export function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const randInt = (r: Rand, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[randInt(r, xs.length)];

export function shuffle<T>(r: Rand, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randInt(r, i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** A stream of random numbers per name, so that adding a family does not reshuffle the others. */
export function subRand(seed: number, name: string): Rand {
  return mulberry32(createHash('sha256').update(`${seed}/${name}`).digest().readUInt32LE(0));
}
