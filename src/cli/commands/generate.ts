import type { Command } from 'commander';
import { createStreamDecoder } from '../../data/stream-decoder.js';
import { generateTokens } from '../../generate/generate.js';
import { loadModel } from '../../train/checkpoint.js';
import { UserError } from '../../errors.js';
import { integerIn, numberIn } from '../arguments.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description(
      'stream text from a trained model (prefill once, then one step per token: a ring buffer of past inputs per HSM layer, a KV cache per attention layer)',
    )
    .requiredOption('--ckpt <dir>', 'run folder written by hsm train')
    .option('--prompt <text>', 'text to continue', '\n')
    .option('--max-tokens <n>', 'tokens to generate', integerIn(1, 10_000_000), 200)
    .option('--temperature <t>', '0 = greedy', numberIn(0, 100), 0.8)
    .option('--top-k <k>', '0 = no limit', integerIn(0, 1 << 21), 0)
    .option('--top-p <p>', '1 = no limit', numberIn(0, 1, { above: true }), 1)
    .option('--seed <n>', 'sampling seed', integerIn(0, 2 ** 31 - 1), 42)
    .action(
      async (f: {
        ckpt: string;
        prompt: string;
        maxTokens: number;
        temperature: number;
        topK: number;
        topP: number;
        seed: number;
      }) => {
        const { model, tokenizer } = loadModel(f.ckpt);
        const prompt = tokenizer.encode(f.prompt);
        if (prompt.length === 0) throw new UserError('--prompt encodes to no tokens; give at least one character');
        const opts = { maxTokens: f.maxTokens, temperature: f.temperature, topK: f.topK, topP: f.topP, seed: f.seed };
        const decoder = createStreamDecoder(tokenizer);
        process.stdout.write(f.prompt);
        const start = performance.now();
        let count = 0;
        for (const token of generateTokens(model, prompt, opts)) {
          process.stdout.write(decoder.push(token));
          count++;
        }
        process.stdout.write(decoder.flush() + '\n');
        const seconds = (performance.now() - start) / 1000;
        process.stderr.write(
          `hsm: ${count} tokens in ${seconds.toFixed(2)}s (${(count / seconds).toFixed(1)} tokens/s)\n`,
        );
      },
    );
}
