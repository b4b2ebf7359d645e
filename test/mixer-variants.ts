// The HSM mixer variants the model tests cover: every registered mixer with its
// defaults, plus the options that change its code path (a projection, more taps).
import { MIXERS } from '../src/model/mixers/registry.js';

export interface MixerVariant {
  mixer: string;
  options: Record<string, number | boolean>;
}

export function hsmMixerVariants(): MixerVariant[] {
  return [
    ...Object.keys(MIXERS)
      .filter((m) => m !== 'attn')
      .map((mixer) => ({ mixer, options: {} })),
    { mixer: 'ab', options: { proj: true } },
    { mixer: 'conv', options: { k: 2 } },
  ];
}
