import type { Command } from 'commander';
import { loadCorpus } from '../../data/corpus.js';
import { TokenDataset } from '../../data/dataset.js';
import { loadModel } from '../../train/checkpoint.js';
import { estimateLoss } from '../../train/evaluate.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('validation loss, perplexity and bits per character/byte of a trained model, as JSON')
    .requiredOption('--ckpt <dir>', 'run folder written by hsm train')
    .option('--data <spec>', 'corpus to evaluate on (default: the one it was trained on)')
    .option('--iters <n>', 'number of random validation batches', '50')
    .option('--batch-size <n>', 'sequences per batch', '16')
    .option('--seed <n>', 'seed of the batch sampler', '7')
    .action((flags: { ckpt: string; data?: string; iters: string; batchSize: string; seed: string }) => {
      const { run, model, tokenizer, step } = loadModel(flags.ckpt);
      const corpus = loadCorpus(flags.data ?? run.train.data);
      const data = TokenDataset.fromText(corpus.text, tokenizer, { valFraction: run.train.valFraction });
      data.checkContext(run.model.blockSize);
      const loss = estimateLoss(model, data, 'val', Number(flags.iters), Number(flags.batchSize), Number(flags.seed));
      // bits per token, then per character / byte: tokens carry on average chars/token characters.
      const valText = tokenizer.decode(data.val);
      const unit = tokenizer.kind === 'byte' ? 'byte' : 'char';
      const units = unit === 'byte' ? Buffer.byteLength(valText, 'utf8') : [...valText].length;
      const bitsPerToken = loss / Math.LN2;
      console.log(
        JSON.stringify({
          ckpt: flags.ckpt,
          step,
          data: corpus.name,
          tokenizer: tokenizer.kind,
          split: 'val',
          loss,
          perplexity: Math.exp(loss),
          bits_per_token: bitsPerToken,
          [`bits_per_${unit}`]: (bitsPerToken * data.val.length) / units,
        }),
      );
    });
}
