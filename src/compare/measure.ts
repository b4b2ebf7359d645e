// What a compare records about a trained model beyond its losses: the
// learning curve, training and generation speed, and a sample of its output.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transformer } from '../model/transformer.js';
import type { TrainConfig } from '../train/config.js';
import type { StepMetrics } from '../train/trainer.js';
import { median } from '../report/stats.js';
import { tokensPerStep } from '../train/budget.js';

/** One validation estimate during training, with the three x-axes of the report's charts. */
export interface CurvePoint {
  step: number;
  tokens: number;
  elapsed_s: number;
  /** Training FLOPs spent so far (tokens × training FLOPs per token). */
  flops: number;
  val_loss: number;
}

export function readMetrics(dir: string): StepMetrics[] {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as StepMetrics);
}

export function learningCurve(metrics: StepMetrics[], cfg: TrainConfig, trainFlopsPerToken: number): CurvePoint[] {
  const perStep = tokensPerStep(cfg);
  return metrics
    .filter((m) => m.val_loss !== undefined)
    .map((m) => ({
      step: m.step,
      tokens: m.step * perStep,
      elapsed_s: m.elapsed_s,
      flops: m.step * perStep * trainFlopsPerToken,
      val_loss: m.val_loss!,
    }));
}

/** Median training throughput of the logged steps (evaluation time is not in a step's tokens/s). */
export function medianTrainingSpeed(metrics: StepMetrics[]): number {
  return median(metrics.map((m) => m.tokens_per_s));
}

/**
 * Generated tokens per second at the given positions: whole sequences are
 * decoded token by token (ring buffers and KV caches, as `hsm generate`
 * does), and each position's speed is the median over a few neighbouring
 * positions and `repeats` sequences. A first sequence warms the JIT up.
 */
export function decodeSpeed(model: Transformer, positions: number[], repeats: number): Record<string, number> {
  const limit = Math.min(model.maxDecodeLength, Math.max(...positions) + 3);
  const wanted = positions.filter((p) => p < limit);
  const times: number[][] = Array.from({ length: limit }, () => []);
  for (let r = 0; r <= repeats; r++) {
    const state = model.newState();
    model.forward(Int32Array.of(r % model.config.vocabSize), 1, 1, state);
    for (let pos = 1; pos < limit; pos++) {
      const t0 = performance.now();
      model.decodeStep(pos % model.config.vocabSize, state);
      if (r > 0) times[pos].push(performance.now() - t0);
    }
  }
  const out: Record<string, number> = {};
  for (const p of wanted) {
    const near = times.slice(Math.max(1, p - 2), Math.min(limit, p + 3)).flat();
    out[String(p)] = Math.round(1000 / median(near));
  }
  return out;
}
