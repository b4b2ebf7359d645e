// The README.md that `hsm export --onnx` writes beside the graphs: what the
// files are, the decoder's state for this model, and a greedy loop to copy.
// The test runs the loop's code block, so the example stays runnable.
import type { TokenizerSpec } from '../data/tokenizer.js';
import type { ModelDescription } from '../model/describe.js';

/** interface.json as hsm_torch.onnx_export writes it (the parts read here). */
export interface OnnxInterface {
  format: string;
  opset: number;
  torch: string;
  vocab_size: number;
  decoder: {
    inputs: string[];
    outputs: string[];
    state: { input: string; output: string; shape: (number | string)[]; kind: 'kv_cache' | 'window'; layer: number }[];
  };
  /** Positions decoding can reach (learned positions, attention), or null: pure HSM decodes on. */
  max_positions: number | null;
}

const TOKENIZER_TEXT: Record<TokenizerSpec['kind'], string> = {
  char:
    'char: token id i is the i-th character (Unicode code point) of the `vocab` string in tokenizer.json; ' +
    'text with a character outside it cannot be encoded.',
  byte: 'byte: token id b is the UTF-8 byte b (256 tokens); decode the bytes of the ids as UTF-8.',
  gpt2:
    "gpt2: GPT-2's byte-level BPE (50,257 tokens), the same ids as tiktoken's `gpt2` encoding and Hugging Face's " +
    '`gpt2` tokenizer; gpt2-ranks.json holds its rank table as js-tiktoken ships it.',
  ids: 'ids: the integer tokens of a synthetic task; there is no text.',
};

/** The example's code: greedy decoding with onnxruntime-node, driven by interface.json. */
export const GREEDY_EXAMPLE = `import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const itf = JSON.parse(readFileSync('interface.json', 'utf8'));
const decoder = await ort.InferenceSession.create('decoder.onnx');
const zeros = (shape) => {
  const dims = shape.map((d) => (d === 'batch' ? 1 : d === 'past_sequence_length' ? 0 : d));
  return new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
};
let state = Object.fromEntries(itf.decoder.state.map((s) => [s.input, zeros(s.shape)]));
const ids = JSON.parse(process.argv[2] ?? '[0]'); // the prompt's token ids
const prompt = ids.length;
for (let pos = 0; pos < prompt + 19; pos++) {
  const feeds = { ...state, input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids[pos])), [1, 1]) };
  if (itf.decoder.inputs.includes('position_ids'))
    feeds.position_ids = new ort.Tensor('int64', BigInt64Array.of(BigInt(pos)), [1, 1]);
  const out = await decoder.run(feeds);
  state = Object.fromEntries(itf.decoder.state.map((s) => [s.input, out[s.output]]));
  if (pos >= prompt - 1) {
    const logits = out.logits.data;
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
}
console.log(JSON.stringify(ids.slice(prompt))); // 20 greedy tokens
`;

export function onnxReadme(opts: {
  ckpt: string;
  step: number;
  description: ModelDescription;
  tokenizer: TokenizerSpec;
  iface: OnnxInterface;
}): string {
  const { description: d, iface } = opts;
  const plan = d.blocks
    .map((b) => {
      const options = Object.entries(b.options).map(([k, v]) => (v === true ? k : `${k}=${v}`));
      return `${b.mixer}${options.length ? `[${options.join(',')}]` : ''}${b.shifts.length ? ` s=${b.shifts.join('/')}` : ''}`;
    })
    .join(', ');
  const state = iface.decoder.state
    .map(
      (s) =>
        `| \`${s.input}\` → \`${s.output}\` | ${s.kind === 'kv_cache' ? 'KV cache' : 'window'} | [${s.shape.join(', ')}] |`,
    )
    .join('\n');
  const limit =
    iface.max_positions === null
      ? 'No position limit: the state keeps its size at every position, so decoding runs on at a constant cost per token.'
      : `Positions 0 to ${iface.max_positions - 1} (the model's context: learned positions and attention end there).`;
  const style = [
    d.norm === 'rmsnorm' ? 'RMSNorm' : 'LayerNorm',
    d.ffn === 'swiglu' ? 'SwiGLU FFN' : 'GELU FFN',
    d.bias ? 'biases' : 'no biases',
    ...(d.rotary ? ['rotary attention'] : []),
    ...(d.positions ? ['learned positions'] : []),
  ].join(', ');
  return `# ONNX export of ${opts.ckpt} (step ${opts.step})

Written by \`hsm export --onnx\` (torch ${iface.torch}, ONNX opset ${iface.opset}). The model: ${d.n_layer} blocks (${plan}),
width ${d.n_embd}, ${d.n_head} heads, vocabulary ${d.vocab_size}; ${style}.

| file | what |
| --- | --- |
| model.onnx | the whole sequence: \`input_ids\` int64 [batch, sequence] → \`logits\` float32 [batch, sequence, ${d.vocab_size}] |
| decoder.onnx | one token per sequence: \`input_ids\` [batch, 1]${iface.decoder.inputs.includes('position_ids') ? ', `position_ids` [batch, 1]' : ''} and the state below → \`logits\` [batch, 1, ${d.vocab_size}] and the next state |
| interface.json | the decoder's inputs, outputs and state, for programs that drive it |
| tokenizer.json | the tokenizer (${opts.tokenizer.kind}) |${opts.tokenizer.kind === 'gpt2' ? '\n| gpt2-ranks.json | the gpt2 rank table |' : ''}
| config.json | the run's configuration (hsm's format) |

## Decoding state

Each \`past_*\` input has an output of the same shape but for the KV cache's length, to feed back at the next step.
Start from zeros: windows of zeros, KV caches of length 0. A window holds the last rows an HSM layer
shifts (its input, or the pair mixer's keys and values), oldest first; a KV cache holds attention's keys and values as
Hugging Face Optimum names them.${iface.decoder.inputs.includes('position_ids') ? ' `position_ids` is the position of the token being fed (0 for the first).' : ''}

| input → output | kind | shape |
| --- | --- | --- |
${state}

${limit}

Tokenizer — ${TOKENIZER_TEXT[opts.tokenizer.kind]}

## Greedy decoding with onnxruntime-node

Save as \`greedy.mjs\` in this folder and run \`node greedy.mjs '[token ids of the prompt]'\` (\`npm install onnxruntime-node\`).
The prompt goes through the decoder one token at a time; the same loop works with ONNX Runtime from Python, C#, Java or C++.

\`\`\`js
${GREEDY_EXAMPLE}\`\`\`
`;
}
