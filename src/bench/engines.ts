/**
 * `hsm bench engines`: training tokens/s of the native engine and of the torch
 * engine (`hsm train --engine torch`, 1 and 2 processes) on the same
 * configuration, in one run, as JSON Lines. Each engine trains a real run
 * (data, loop, evaluation at the end, checkpoints) in a temporary folder; the
 * median of the per-step tokens/s after `warmup` steps is its number. Unlike
 * `hsm bench train` (our step against nanoGPT's), this times the two engines
 * the product offers, launch overheads excluded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernels } from '../backend/index.js';
import { parseTrainConfig } from '../train/config.js';
import { train } from '../train/trainer.js';
import type { TorchEngineOptions } from '../train/torch-launch.js';
import { median, round } from './timing.js';
import { TRAIN_BENCH_CONFIGS } from './train.js';

export interface EnginesBenchOptions {
  configs: string[];
  steps: number;
  warmup: number;
  /** Torch engine process counts to run (default 1 and 2). */
  processes?: number[];
  emit: (record: Record<string, unknown>) => void;
}

export async function benchEngines(opts: EnginesBenchOptions): Promise<void> {
  const processes = opts.processes ?? [1, 2];
  for (const name of opts.configs) {
    const c = TRAIN_BENCH_CONFIGS[name];
    if (!c) throw new Error(`unknown configuration ${name}`); // the CLI checks names first
    const cfg = parseTrainConfig({
      data: 'shakespeare', // the configurations' vocabulary of 65 is its characters
      tokenizer: 'char',
      model: { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, blockSize: c.blockSize, plan: c.plan },
      batchSize: c.batchSize,
      maxIters: opts.warmup + opts.steps,
      evalInterval: 1e9,
      evalIters: 1,
      checkpointInterval: 1e9,
      logInterval: 1e9,
    });
    const engines: (TorchEngineOptions | undefined)[] = [
      undefined,
      ...processes.map((nproc) => ({ nproc, device: 'cpu' as const, nnodes: 1, nodeRank: 0 })),
    ];
    const rates: number[] = [];
    for (const torch of engines) {
      const out = mkdtempSync(join(tmpdir(), 'hsm-bench-engines-'));
      const perStep: number[] = [];
      try {
        await train(
          { ...cfg, out },
          { torch, hooks: { onStep: (m) => m.step > opts.warmup && perStep.push(m.tokens_per_s) } },
        );
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
      const rate = median(perStep);
      rates.push(rate);
      opts.emit({
        bench: 'engines',
        config: name,
        engine: torch ? 'torch' : kernels().name,
        processes: torch ? torch.nproc : 1,
        tokens_per_s: round(rate, 0),
        steps: perStep.length,
        tokens_per_step: c.batchSize * c.blockSize,
      });
    }
    opts.emit({
      bench: 'engines',
      config: name,
      ratio_of: 'torch tokens_per_s / native tokens_per_s, per torch process count',
      ratios: Object.fromEntries(processes.map((p, i) => [`torch×${p}`, round(rates[i + 1] / rates[0], 3)])),
    });
  }
}
