import type { Command } from 'commander';
import { openTextDataWith } from '../../data/text-data.js';
import { loadModel, readRunConfig } from '../../train/checkpoint.js';
import { inferenceMemory, requireMemory } from '../../train/memory.js';
import { integerIn } from '../arguments.js';
import { estimateLoss, lossByPosition, requireFiniteLoss } from '../../train/evaluate.js';
import { ngramLevels } from '../../data/ngram.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('validation loss, perplexity and bits per character/byte of a trained model, as JSON')
    .requiredOption('--ckpt <dir>', 'run folder written by hsm train')
    .option('--data <spec>', 'corpus or token folder to evaluate on (default: the one it was trained on)')
    .option('--iters <n>', 'number of random validation batches', integerIn(1, 100_000), 50)
    .option('--batch-size <n>', 'sequences per batch', integerIn(1, 65_536), 16)
    .option('--seed <n>', 'seed of the batch sampler', integerIn(0, 2 ** 31 - 1), 7)
    .option(
      '--by-position',
      'also the mean loss per position bucket of the window (0, [1,2), [2,4), …): does the model use its context?',
    )
    .option(
      '--levels',
      'also the unigram, bigram and trigram cross-entropy of the same split (counts from the training split): the levels a loss must beat',
    )
    .option('--no-memory-check', "evaluate even when the estimated memory exceeds this machine's")
    .action(
      (flags: {
        ckpt: string;
        data?: string;
        iters: number;
        batchSize: number;
        seed: number;
        memoryCheck: boolean;
        byPosition?: boolean;
        levels?: boolean;
      }) => {
        const saved = readRunConfig(flags.ckpt);
        if (flags.memoryCheck)
          requireMemory(
            inferenceMemory(saved.model, flags.batchSize),
            `evaluating ${flags.ckpt} with --batch-size ${flags.batchSize}`,
            '--batch-size',
            '--no-memory-check',
          );
        const { run, model, tokenizer, step } = loadModel(flags.ckpt);
        const text = openTextDataWith(flags.data ?? run.train.data, tokenizer, run.train.valFraction);
        const data = text.data;
        data.checkContext(run.model.blockSize);
        const loss = estimateLoss(model, data, 'val', flags.iters, flags.batchSize, flags.seed);
        requireFiniteLoss(model, loss, `checkpoint ${flags.ckpt}`);
        // bits per token, then per character / byte: tokens carry on average chars/token characters.
        const valText = tokenizer.decode(data.val);
        const unit = tokenizer.kind === 'byte' ? 'byte' : 'char';
        const units = unit === 'byte' ? Buffer.byteLength(valText, 'utf8') : [...valText].length;
        const bitsPerToken = loss / Math.LN2;
        console.log(
          JSON.stringify({
            ckpt: flags.ckpt,
            step,
            data: text.name,
            tokenizer: tokenizer.kind,
            split: 'val',
            loss,
            perplexity: Math.exp(loss),
            bits_per_token: bitsPerToken,
            [`bits_per_${unit}`]: (bitsPerToken * data.val.length) / units,
            ...(flags.levels ? { reference_levels: ngramLevels(data.train, data.val, tokenizer.vocabSize) } : {}),
            ...(flags.byPosition
              ? { by_position: lossByPosition(model, data, 'val', flags.iters, flags.batchSize, flags.seed) }
              : {}),
          }),
        );
      },
    );
}
