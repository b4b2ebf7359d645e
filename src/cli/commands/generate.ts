import type { Command } from 'commander';
import { createStreamDecoder } from '../../data/stream-decoder.js';
import { generateTokens } from '../../generate/generate.js';
import { loadModel } from '../../train/checkpoint.js';
import { UserError } from '../../errors.js';

function num(name: string, value: string, min: number, max = Infinity): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UserError(`--${name} must be a number in [${min}, ${max}], got "${value}"`);
  return n;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description(
      'stream text from a trained model (prefill once, then one step per token: a ring buffer of past inputs per HSM layer, a KV cache per attention layer)',
    )
    .requiredOption('--ckpt <dir>', 'run folder written by hsm train')
    .option('--prompt <text>', 'text to continue', '\n')
    .option('--max-tokens <n>', 'tokens to generate', '200')
    .option('--temperature <t>', '0 = greedy', '0.8')
    .option('--top-k <k>', '0 = no limit', '0')
    .option('--top-p <p>', '1 = no limit', '1')
    .option('--seed <n>', 'sampling seed', '42')
    .action(
      async (f: {
        ckpt: string;
        prompt: string;
        maxTokens: string;
        temperature: string;
        topK: string;
        topP: string;
        seed: string;
      }) => {
        const { model, tokenizer } = loadModel(f.ckpt);
        const prompt = tokenizer.encode(f.prompt);
        if (prompt.length === 0) throw new UserError('--prompt encodes to no tokens; give at least one character');
        const opts = {
          maxTokens: num('max-tokens', f.maxTokens, 1),
          temperature: num('temperature', f.temperature, 0),
          topK: num('top-k', f.topK, 0),
          topP: num('top-p', f.topP, 0, 1),
          seed: num('seed', f.seed, 0),
        };
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
