// Tiny trained run folders for the server tests: a GPT, a pure HSM model, a
// hybrid (char tokenizer) and a byte-level HSM model (tokens that split
// characters), each trained for a few steps on a slice of Shakespeare.
import { join } from 'node:path';
import { parseTrainConfig, train } from '../src/index.js';
import { shakespeare, tmp } from './helpers.js';

export const FIXTURE_PLANS = {
  gpt: { plan: 'attn*2', tokenizer: 'char' },
  hsm: { plan: 'hsm:pair*3', tokenizer: 'char' },
  hybrid: { plan: 'hsm:gated*2,attn', tokenizer: 'char' },
  bytes: { plan: 'hsm:linear*3', tokenizer: 'byte' },
} as const;
export type FixtureName = keyof typeof FIXTURE_PLANS;

/** Trains every fixture into a fresh temporary folder; returns name → run folder. */
export async function trainServeFixtures(
  names: readonly FixtureName[] = Object.keys(FIXTURE_PLANS) as FixtureName[],
): Promise<Record<FixtureName, string>> {
  // Every letter and digit, so any plain prompt encodes; and some multibyte characters for the byte model.
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 ?!.,:;-'\n";
  const text = shakespeare(20_000) + alphabet + ' café, naïve, 東京 ✓';
  const root = tmp('serve');
  const dirs = {} as Record<FixtureName, string>;
  for (const name of names) {
    const { plan, tokenizer } = FIXTURE_PLANS[name];
    const out = join(root, name);
    const cfg = parseTrainConfig({
      out,
      tokenizer,
      maxIters: 15,
      evalInterval: 15,
      evalIters: 1,
      batchSize: 4,
      model: { plan, nHead: 2, nEmbd: 32, blockSize: 32 },
    });
    await train(cfg, { corpus: { name: 'shakespeare-slice', text, source: 'memory' } });
    dirs[name] = out;
  }
  return dirs;
}
