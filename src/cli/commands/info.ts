import type { Command } from 'commander';
import { UserError } from '../../data/errors.js';
import { gptCost } from '../../model/cost.js';
import type { GPTConfig } from '../../model/gpt.js';
import { readRunConfig } from '../../train/checkpoint.js';
import { parseTrainConfig, presetConfig } from '../../train/config.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('parameters, FLOPs per token and the layer plan of a model (from --ckpt, --preset or flags)')
    .option('--ckpt <dir>', 'a run folder')
    .option('--preset <name>', 'a training preset')
    .option('--vocab-size <n>', 'vocabulary size when not known from a checkpoint', '65')
    .option('--json', 'print JSON')
    .action((f: { ckpt?: string; preset?: string; vocabSize: string; json?: boolean }) => {
      let config: GPTConfig;
      if (f.ckpt) config = readRunConfig(f.ckpt).model;
      else if (f.preset) config = { vocabSize: Number(f.vocabSize), ...parseTrainConfig(presetConfig(f.preset)).model };
      else throw new UserError('hsm info needs --ckpt DIR or --preset NAME');
      const cost = gptCost(config);
      if (f.json) {
        console.log(JSON.stringify({ model: 'gpt', config, ...cost }));
        return;
      }
      console.log(`model gpt: ${config.nLayer} layers, d=${config.nEmbd}, ${config.nHead} heads, context ${config.blockSize}, vocabulary ${config.vocabSize}`);
      console.log(`parameters: ${cost.parameters.toLocaleString('en-US')} (${cost.nonEmbeddingParameters.toLocaleString('en-US')} without embeddings)`);
      console.log(`FLOPs/token: ${(cost.forwardFlopsPerToken / 1e6).toFixed(2)} M forward, ${(cost.trainFlopsPerToken / 1e6).toFixed(2)} M training`);
      console.log('layer plan:');
      for (const l of cost.layers) {
        console.log(`  ${String(l.index).padStart(2)}  ${l.mixer.padEnd(18)} ${l.parameters.toLocaleString('en-US').padStart(10)} params  ${(l.forwardFlopsPerToken / 1e6).toFixed(2)} MFLOP/token`);
      }
      console.log(`receptive field: ${config.blockSize} (full context, attention in every layer)`);
    });
}
