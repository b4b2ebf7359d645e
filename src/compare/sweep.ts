// The settings sweep of a grid: which combination each family keeps, and the
// table of every combination tried (sweep.json, a result of its own).
import { familyOf, type Grid, type GridRun, type SweepPick } from './grid.js';
import type { RunResult } from './results.js';

export const SWEEP_FORMAT = 'hsm-sweep/1';

/** One combination tried: its settings and how it ended (loss null when it diverged). */
export interface SweepRow {
  family: string;
  model: string;
  lr: number;
  minLr: number;
  batchSize: number;
  seeds: number[];
  /** Mean final validation loss over the sweep's seeds; null when a seed diverged. */
  final_val_loss: number | null;
  steps: number;
  train_flops: number;
  diverged: boolean;
  picked: boolean;
}

export interface SweepOutcome {
  /** Families whose every sweep run finished, with their best model and settings. */
  picks: Map<string, SweepPick>;
  rows: SweepRow[];
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * Picks each family's combination with the lowest mean final validation loss
 * (a diverged seed disqualifies its combination), once every sweep run of the
 * family has a result. Ties go to the earlier combination in grid order.
 */
export function pickSettings(grid: Grid, sweepRuns: GridRun[], results: Map<string, RunResult>): SweepOutcome {
  const rows: SweepRow[] = [];
  const picks = new Map<string, SweepPick>();
  const families = [...new Set(grid.models.map(familyOf))];
  for (const family of families) {
    const runs = sweepRuns.filter((r) => r.sweep!.family === family);
    const combos = new Map<string, GridRun[]>();
    for (const r of runs) {
      const key = JSON.stringify([r.model, r.sweep!.lr, r.sweep!.batchSize]);
      combos.set(key, [...(combos.get(key) ?? []), r]);
    }
    const familyRows: SweepRow[] = [];
    for (const group of combos.values()) {
      const done = group.map((r) => results.get(r.id)).filter((x): x is RunResult => x !== undefined);
      if (done.length === 0) continue;
      const diverged = done.some((d) => d.diverged !== undefined || !finite(d.final_val_loss));
      const { model, sweep } = group[0];
      familyRows.push({
        family,
        model,
        lr: sweep!.lr,
        minLr: sweep!.minLr,
        batchSize: sweep!.batchSize,
        seeds: done.map((d) => d.seed),
        final_val_loss: diverged ? null : done.reduce((s, d) => s + d.final_val_loss, 0) / done.length,
        steps: done[0].steps,
        train_flops: done[0].train_flops ?? 0,
        diverged,
        picked: false,
      });
    }
    const complete = runs.every((r) => results.has(r.id));
    const candidates = familyRows.filter((r) => finite(r.final_val_loss));
    if (complete && candidates.length > 0) {
      const best = candidates.reduce((a, b) => (b.final_val_loss! < a.final_val_loss! ? b : a));
      best.picked = true;
      picks.set(family, { model: best.model, lr: best.lr, minLr: best.minLr, batchSize: best.batchSize });
    }
    rows.push(...familyRows);
  }
  return { picks, rows };
}

/** Families whose sweep finished with every combination diverged: nothing to pick. */
export function familiesWithoutPick(
  grid: Grid,
  sweepRuns: GridRun[],
  outcome: SweepOutcome,
  results: Map<string, RunResult>,
): string[] {
  return [...new Set(grid.models.map(familyOf))].filter(
    (f) => !outcome.picks.has(f) && sweepRuns.filter((r) => r.sweep!.family === f).every((r) => results.has(r.id)),
  );
}
