import { UserError } from '../../errors.js';
import { AbMixer } from './ab.js';
import { AttentionMixer } from './attention.js';
import { ChannelMixer } from './channel.js';
import { ConvMixer } from './conv.js';
import { GatedMixer } from './gated.js';
import { LinearMixer } from './linear.js';
import type { Mixer, MixerContext } from './mixer.js';
import { PairMixer } from './pair.js';

export interface MixerEntry {
  create(ctx: MixerContext): Mixer;
  /** Options the plan string may set, e.g. hsm:conv[k=3,proj]. */
  options: string[];
  description: string;
}

/**
 * Every token mixer by name. A new mixer is one file implementing Mixer
 * (usually a ShiftMixer subclass) plus one line here.
 */
export const MIXERS: Record<string, MixerEntry> = {
  attn: { create: (c) => new AttentionMixer(c), options: [], description: 'causal multi-head softmax attention' },
  ab: { create: (c) => new AbMixer(c), options: ['proj'], description: 'a·x_t + b·x_{t−s}, scalars per head group' },
  channel: { create: (c) => new ChannelMixer(c), options: ['proj'], description: 'a ⊙ x_t + b ⊙ x_{t−s}, vectors' },
  conv: {
    create: (c) => new ConvMixer(c),
    options: ['k', 'proj'],
    description: 'depthwise dilated causal convolution, k taps',
  },
  linear: { create: (c) => new LinearMixer(c), options: ['proj'], description: 'W_0 x_t + W_1 x_{t−s} + c' },
  gated: {
    create: (c) => new GatedMixer(c),
    options: ['proj'],
    description: 'g ⊙ x_t + (1−g) ⊙ x_{t−s}, g = σ(W_g[x_t; x_{t−s}] + c)',
  },
  pair: {
    create: (c) => new PairMixer(c),
    options: [],
    description: 'attention over the pair {t, t−s} per head, with W_o',
  },
};

export function mixerEntry(name: string, options: Record<string, unknown>): MixerEntry {
  const entry = MIXERS[name];
  if (!entry) throw new UserError(`unknown mixer "${name}"; available: ${Object.keys(MIXERS).join(', ')}`);
  for (const key of Object.keys(options)) {
    if (!entry.options.includes(key)) {
      throw new UserError(
        `mixer ${name} has no option "${key}"${entry.options.length ? ` (it takes: ${entry.options.join(', ')})` : ''}`,
      );
    }
  }
  return entry;
}
