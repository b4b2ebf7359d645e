// The settings sweep of a grid: which combination each family keeps, and the
// table of every combination tried (sweep.json, a result of its own).
import type { GridRun, SweepPick } from './grid.js';
import type { RunResult, SweepRow } from './results.js';

export type { SweepRow } from './results.js';

export const SWEEP_FORMAT = 'hsm-sweep/1';

export interface SweepOutcome {
  /** Families whose every sweep run finished, with their best model and settings. */
  picks: Map<string, SweepPick>;
  rows: SweepRow[];
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * Picks each family's combination with the lowest mean final validation loss
 * (a diverged seed disqualifies its combination), once every sweep run of the
 * family has a result. Ties go to the earlier combination in grid order (the
 * order of `sweepRuns`). On
 * the recall task the pick is per family and length, and it is the highest
 * mean accuracy (the score the task is read by; ties go to the lower loss).
 */
export function pickSettings(sweepRuns: GridRun[], results: Map<string, RunResult>): SweepOutcome {
  const rows: SweepRow[] = [];
  const picks = new Map<string, SweepPick>();
  const keys = [...new Set(sweepRuns.map((r) => r.sweep!.key))];
  for (const key of keys) {
    const runs = sweepRuns.filter((r) => r.sweep!.key === key);
    const family = runs[0].sweep!.family;
    const recall = runs[0].recall !== undefined;
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
      const { model, sweep, task } = group[0];
      const mean = (f: (d: RunResult) => number) => done.reduce((sum, d) => sum + f(d), 0) / done.length;
      familyRows.push({
        family,
        ...(recall && { task }),
        model,
        lr: sweep!.lr,
        minLr: sweep!.minLr,
        batchSize: sweep!.batchSize,
        seeds: done.map((d) => d.seed),
        final_val_loss: diverged ? null : mean((d) => d.final_val_loss),
        ...(recall && { accuracy: diverged ? null : mean((d) => d.accuracy ?? NaN) }),
        steps: done[0].steps,
        train_flops: done[0].train_flops ?? 0,
        diverged,
        picked: false,
      });
    }
    const complete = runs.every((r) => results.has(r.id));
    const candidates = familyRows.filter((r) => finite(r.final_val_loss) && (!recall || finite(r.accuracy)));
    if (complete && candidates.length > 0) {
      const better = (a: SweepRow, b: SweepRow) =>
        recall && b.accuracy !== a.accuracy ? b.accuracy! > a.accuracy! : b.final_val_loss! < a.final_val_loss!;
      const best = candidates.reduce((a, b) => (better(a, b) ? b : a));
      best.picked = true;
      picks.set(key, { model: best.model, lr: best.lr, minLr: best.minLr, batchSize: best.batchSize });
    }
    rows.push(...familyRows);
  }
  return { picks, rows };
}

/** Picks (families, or families at a recall length) whose sweep finished with every combination diverged: nothing to pick. */
export function familiesWithoutPick(
  sweepRuns: GridRun[],
  outcome: SweepOutcome,
  results: Map<string, RunResult>,
): string[] {
  return [...new Set(sweepRuns.map((r) => r.sweep!.key))].filter(
    (k) => !outcome.picks.has(k) && sweepRuns.filter((r) => r.sweep!.key === k).every((r) => results.has(r.id)),
  );
}
