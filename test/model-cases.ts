// The models the PyTorch and ONNX tests compare with our engine: every mixer
// (with and without [proj]), a hybrid and pow2-heads head groups, with
// weights that make every parameter matter.
import { parsePlan } from '../src/model/plan.js';
import { Transformer, type ModelConfig } from '../src/model/transformer.js';
import { Rng } from '../src/tensor/random.js';

export const V = 37,
  CONTEXT = 24,
  B = 3;
export const base = { vocabSize: V, blockSize: CONTEXT, nLayer: 4, nHead: 4, nEmbd: 32 };

/** The models compared; nLayer follows the plan. */
export const CASES: { name: string; config: Partial<ModelConfig> & { plan?: string } }[] = [
  { name: 'gpt (attn*4)', config: {} },
  { name: 'ab', config: { plan: 'hsm:ab*4' } },
  { name: 'ab[proj]', config: { plan: 'hsm:ab[proj]*4' } },
  { name: 'channel', config: { plan: 'hsm:channel*4' } },
  { name: 'channel[proj]', config: { plan: 'hsm:channel[proj]*4' } },
  { name: 'conv[k=3]', config: { plan: 'hsm:conv[k=3]*4' } },
  { name: 'conv[k=3,proj]', config: { plan: 'hsm:conv[k=3,proj]*4' } },
  // shifts 1, 2, 4, 8 at k = 7 reach lag 48 > T: the later taps read only zeros
  { name: 'conv[k=7]', config: { plan: 'hsm:conv[k=7]*4' } },
  { name: 'conv[k=7,proj]', config: { plan: 'hsm:conv[k=7,proj]*4' } },
  { name: 'linear', config: { plan: 'hsm:linear*4' } },
  { name: 'linear[proj]', config: { plan: 'hsm:linear[proj]*4' } },
  { name: 'gated', config: { plan: 'hsm:gated*4' } },
  { name: 'gated[proj]', config: { plan: 'hsm:gated[proj]*4' } },
  { name: 'pair', config: { plan: 'hsm:pair*4' } },
  { name: 'hybrid ab[proj]*3,attn', config: { plan: 'hsm:ab[proj]*3,attn' } },
  {
    name: 'pow2-heads, 4 groups, every HSM mixer',
    config: {
      plan: 'hsm:ab,hsm:channel[proj],hsm:conv[k=3,proj],hsm:linear,hsm:gated[proj],hsm:pair',
      schedule: 'pow2-heads',
    },
  },
  {
    // pair's 4 heads over 2 shift groups; positions on a pure HSM plan; a non-default FFN width, eps and dropout
    name: 'pow2-heads, 2 groups, positions, ffn 72',
    config: {
      plan: 'hsm:pair*2,hsm:conv[k=4]*2,hsm:ab[proj]',
      schedule: 'pow2-heads',
      hsmHeads: 2,
      positions: true,
      ffnHidden: 72,
      lnEps: 1e-4,
      dropout: 0.1,
    },
  },
  // The transformer++ block (RMSNorm, SwiGLU, no biases, rotary positions): GPT, every HSM mixer and a hybrid.
  { name: 'transformer++ gpt (attn*4)', config: { style: 'transformer++' } },
  {
    name: 'transformer++, every HSM mixer',
    config: {
      plan: 'hsm:ab,hsm:channel[proj],hsm:conv[k=3,proj],hsm:linear,hsm:gated[proj],hsm:pair',
      style: 'transformer++',
    },
  },
  { name: 'transformer++ hybrid (hsm:pair,attn)*2', config: { plan: '(hsm:pair,attn)*2', style: 'transformer++' } },
  {
    // the options one at a time on GPT-2's block: LayerNorm without bias, rotary beside a GELU FFN
    name: 'gpt2 with rotary, no biases (LayerNorm without bias), gated hybrid',
    config: { plan: 'hsm:gated[proj],attn,hsm:linear,attn', rotary: true, bias: false },
  },
  { name: 'gpt2 with RMSNorm and SwiGLU, biases kept', config: { norm: 'rmsnorm', ffn: 'swiglu' } },
];

/** Case i's model with our initial weights. */
export function freshModel(i: number): Transformer {
  const { config } = CASES[i];
  const nLayer = config.plan ? parsePlan(config.plan).length : 4;
  return new Transformer({ ...base, ...config, nLayer }, { seed: 100 + i });
}

/**
 * A model with non-trivial weights: seeded init, then every vector parameter
 * (LayerNorms, biases, ab/channel/conv weights, all 0 or 1 otherwise) and
 * every HSM mixer matrix gets N(0, 0.1) noise, so each parameter changes the
 * output and gates and pair scores depend on the data; the other matrices
 * are scaled ×12 (std 0.24 ≈ 1/√C) so activations are of order 1 and the
 * GELU's shape, the softmaxes and the LayerNorms work outside their linear
 * range (at GPT-2's 0.02 the erf GELU passes for the tanh one).
 */
export function buildCase(i: number): { model: Transformer; idx: Int32Array; targets: Int32Array } {
  const model = freshModel(i);
  const rng = new Rng(7 + i);
  for (const p of model.params.list) {
    if (p.ndim === 1 || p.name!.includes('.mix.')) for (let j = 0; j < p.size; j++) p.data[j] += 0.1 * rng.normal();
    else for (let j = 0; j < p.size; j++) p.data[j] *= 12;
  }
  const idx = Int32Array.from({ length: B * CONTEXT }, () => rng.int(V));
  // every 7th target is -1: ignored by both losses
  const targets = Int32Array.from({ length: B * CONTEXT }, (_, j) => (j % 7 === 3 ? -1 : rng.int(V)));
  return { model, idx, targets };
}
