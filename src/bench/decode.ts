import { parsePlan } from '../model/plan.js';
import { Transformer } from '../model/transformer.js';
import { median } from './timing.js';

/** Decode steps timed from each position on (the median is reported). */
export const DECODE_WINDOW = 64;

export interface DecodeBenchOptions {
  plans: string[];
  positions: number[];
  nEmbd?: number;
  nHead?: number;
  /** Decode steps timed around each position (median reported). */
  window?: number;
  emit: (record: Record<string, unknown>) => void;
}

/**
 * Time per generated token at several positions, for each plan: one sequence
 * decoded token by token through the mixers' recurrent forms (ring buffers,
 * KV caches). A throwaway sequence warms the JIT up first so early positions
 * are not charged for compilation.
 */
export function benchDecode(opts: DecodeBenchOptions): void {
  const C = opts.nEmbd ?? 256,
    H = opts.nHead ?? 4,
    window = opts.window ?? DECODE_WINDOW;
  const last = Math.max(...opts.positions) + window;
  for (const plan of opts.plans) {
    const model = new Transformer({
      vocabSize: 65,
      blockSize: Math.max(last, 300) + 1,
      nLayer: parsePlan(plan).length,
      nHead: H,
      nEmbd: C,
      plan,
    });
    const warm = model.newState();
    model.forward(Int32Array.of(1), 1, 1, warm);
    for (let i = 0; i < 300; i++) model.decodeStep(i % 65, warm);
    const state = model.newState();
    model.forward(Int32Array.of(1), 1, 1, state);
    const samples = new Map<number, number[]>(opts.positions.map((p) => [p, []]));
    for (let pos = 1; pos < last; pos++) {
      const t0 = performance.now();
      model.decodeStep(pos % 65, state);
      const ms = performance.now() - t0;
      for (const p of opts.positions) if (pos >= p && pos < p + window) samples.get(p)!.push(ms);
    }
    const ms = Object.fromEntries([...samples].map(([p, xs]) => [String(p), Number(median(xs).toFixed(4))]));
    const first = ms[String(opts.positions[0])],
      final = ms[String(opts.positions[opts.positions.length - 1])];
    opts.emit({
      bench: 'decode',
      plan,
      n_embd: C,
      ms_per_token: ms,
      ratio_last_to_first: Number((final / first).toFixed(3)),
    });
  }
}
