import { UserError } from '../../errors.js';
import { AbMixer } from './ab.js';
import { AttentionMixer } from './attention.js';
import { ChannelMixer } from './channel.js';
import { ConvMixer } from './conv.js';
import { GatedMixer } from './gated.js';
import { LinearMixer } from './linear.js';
import type { Mixer, MixerContext } from './mixer.js';
import { PairMixer } from './pair.js';

/** An option a plan string may set: a flag (`[proj]`) or an integer in a range (`[k=5]`). */
export type MixerOption = { kind: 'flag' } | { kind: 'int'; min: number; max: number };

export interface MixerEntry {
  create(ctx: MixerContext): Mixer;
  /** Options the plan string may set, e.g. hsm:conv[k=3,proj]; checked before the mixer is built. */
  options: Record<string, MixerOption>;
  description: string;
}

const PROJ: MixerOption = { kind: 'flag' };

/**
 * Every token mixer by name. A new mixer is one file implementing Mixer
 * (usually a ShiftMixer subclass) plus one line here.
 */
export const MIXERS: Record<string, MixerEntry> = {
  attn: { create: (c) => new AttentionMixer(c), options: {}, description: 'causal multi-head softmax attention' },
  ab: {
    create: (c) => new AbMixer(c),
    options: { proj: PROJ },
    description: 'a·x_t + b·x_{t−s}, scalars per head group',
  },
  channel: {
    create: (c) => new ChannelMixer(c),
    options: { proj: PROJ },
    description: 'a ⊙ x_t + b ⊙ x_{t−s}, vectors',
  },
  conv: {
    create: (c) => new ConvMixer(c),
    // More taps than a context's worth are never useful; the cap keeps a typo from allocating gigabytes.
    options: { k: { kind: 'int', min: 2, max: 64 }, proj: PROJ },
    description: 'depthwise dilated causal convolution, k taps',
  },
  linear: { create: (c) => new LinearMixer(c), options: { proj: PROJ }, description: 'W_0 x_t + W_1 x_{t−s} + c' },
  gated: {
    create: (c) => new GatedMixer(c),
    options: { proj: PROJ },
    description: 'g ⊙ x_t + (1−g) ⊙ x_{t−s}, g = σ(W_g[x_t; x_{t−s}] + c)',
  },
  pair: {
    create: (c) => new PairMixer(c),
    options: {},
    description: 'attention over the pair {t, t−s} per head, with W_o',
  },
};

export function mixerEntry(name: string, options: Record<string, unknown>): MixerEntry {
  const entry = MIXERS[name];
  if (!entry) throw new UserError(`unknown mixer "${name}"; available: ${Object.keys(MIXERS).join(', ')}`);
  const known = Object.keys(entry.options);
  for (const [key, value] of Object.entries(options)) {
    const spec = entry.options[key];
    if (!spec) {
      throw new UserError(
        `mixer ${name} has no option "${key}"${known.length ? ` (it takes: ${known.join(', ')})` : ''}`,
      );
    }
    if (spec.kind === 'flag' && value !== true)
      throw new UserError(`mixer ${name}: option "${key}" is a flag and takes no value; write [${key}]`);
    if (
      spec.kind === 'int' &&
      (!Number.isInteger(value) || (value as number) < spec.min || (value as number) > spec.max)
    )
      throw new UserError(
        `mixer ${name}: option ${key}=${String(value)} must be an integer from ${spec.min} to ${spec.max}`,
      );
  }
  return entry;
}
