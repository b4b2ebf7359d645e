import type { Command } from 'commander';
import { loadCorpus } from '../../data/corpus.js';
import { createTokenizer } from '../../data/tokenizers.js';
import { describeModel, matchFfnWidth, modelShapes } from '../../model/cost.js';
import type { ModelConfig } from '../../model/transformer.js';
import { integerIn } from '../arguments.js';
import { readRunConfig } from '../../train/checkpoint.js';
import { resolveModelConfig } from '../../train/config.js';
import { addConfigOptions, resolveConfig, type ConfigFlags } from '../options.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function registerInfo(program: Command): void {
  const cmd = program
    .command('info')
    .description("a model's layer plan (shifts per layer and head), receptive field, parameters and FLOPs per token");
  addConfigOptions(cmd)
    .option('--ckpt <dir>', 'describe a trained run instead')
    .option(
      '--vocab-size <n>',
      'vocabulary size (default: what the tokenizer makes of --data; a checkpoint knows its own)',
      integerIn(1, 1 << 21),
    )
    .option('--json', 'print JSON')
    .action((f: ConfigFlags & { ckpt?: string; vocabSize?: number; json?: boolean }) => {
      let config: ModelConfig, matchTarget: string | undefined;
      if (f.ckpt) {
        const run = readRunConfig(f.ckpt);
        config = run.model;
        matchTarget = run.train.model.matchParams;
      } else {
        const train = resolveConfig(f);
        // The output head's size: the tokenizer's vocabulary on the corpus the run would train on.
        const vocab = f.vocabSize ?? createTokenizer(train.tokenizer, loadCorpus(train.data).text).vocabSize;
        config = resolveModelConfig(train.model, vocab);
        matchTarget = train.model.matchParams;
      }
      const report = describeModel(modelShapes(config)); // nothing allocated: any size can be described
      const matched = matchTarget ? { plan: matchTarget, parameters: matchFfnWidth(config, matchTarget).target } : null;
      if (f.json) {
        console.log(JSON.stringify({ config, ...report, matched }));
        return;
      }
      const c = config;
      console.log(
        `plan ${report.plan}: ${c.nLayer} blocks, d=${c.nEmbd}, context ${c.blockSize}, vocabulary ${c.vocabSize}, FFN ${report.ffnHidden}`,
      );
      const positions = { learned: 'learned positions', rotary: 'rotary positions', none: 'no position table' };
      console.log(`block style ${report.style}, ${positions[report.positionEncoding]}`);
      console.log(`parameters: ${fmt(report.parameters)} (${fmt(report.nonEmbeddingParameters)} without embeddings)`);
      if (matched)
        console.log(
          `parameter-matched to ${matched.plan}: ${fmt(matched.parameters)} (difference ${fmt(report.parameters - matched.parameters)})`,
        );
      console.log(
        `FLOPs/token: ${(report.forwardFlopsPerToken / 1e6).toFixed(3)} M forward, ${(report.trainFlopsPerToken / 1e6).toFixed(3)} M training`,
      );
      console.log('layers:');
      for (const l of report.layers) {
        const shifts = l.shifts.length ? `s=${l.shifts.join('/')}` : 'all positions';
        console.log(
          `  ${String(l.index).padStart(2)}  ${l.mixer.padEnd(16)} ${shifts.padEnd(16)} ${fmt(l.parameters).padStart(11)} params  ${(l.forwardFlopsPerToken / 1e6).toFixed(3)} MFLOP/token`,
        );
      }
      console.log(
        `receptive field: ${report.receptiveField} of ${c.blockSize} positions${report.coversContext ? ' (every offset reachable)' : ''}`,
      );
      if (report.receptiveField < c.blockSize) {
        console.log(
          `warning: the receptive field (${report.receptiveField}) is shorter than the context (${c.blockSize}); add HSM layers or choose another --schedule`,
        );
      } else if (!report.coversContext) {
        console.log('warning: some offsets inside the context are unreachable with this schedule');
      }
    });
}
