// The lines `hsm train` prints at the end of a run of a preset that names committed
// reference runs: this run's validation loss against the reference model's, and the
// speed ratio the two committed runs measured on one machine.
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import type { PresetReference } from './config.js';
import { readRunSummary, type RunSummary } from './run-summary.js';

/** Settings that must agree for two runs' numbers to be comparable: data, budget, schedule and evaluation. */
const BUDGET_KEYS = [
  'data',
  'tokenizer',
  'valFraction',
  'batchSize',
  'gradAccum',
  'maxIters',
  'lr',
  'minLr',
  'warmupIters',
  'lrDecayIters',
  'evalIters',
];

/** The first setting in which two runs differ ("maxIters 500 vs 3000"), or null when they are comparable. */
export function budgetDifference(run: RunSummary, ref: RunSummary): string | null {
  const get = (s: RunSummary, key: string): unknown =>
    key === 'blockSize' ? (s.train.model as Record<string, unknown> | undefined)?.blockSize : s.train[key];
  for (const key of [...BUDGET_KEYS, 'blockSize']) {
    const a = JSON.stringify(get(run, key) ?? null);
    const b = JSON.stringify(get(ref, key) ?? null);
    if (a !== b) return `${key === 'blockSize' ? 'context' : key} ${a} vs ${b}`;
  }
  return null;
}

const MINUS = '\u2212';
/** A difference of losses in nats, signed (claims are differences in nats, not percentages of a loss). */
const signedNats = (x: number) => `${x < 0 ? MINUS : '+'}${Math.abs(x).toFixed(3)} nats`;
const tokens = (x: number) => Math.round(x).toLocaleString('en-US');
const minutes = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
const machine = (s: RunSummary) => {
  const cpu = typeof s.provenance.cpu === 'string' ? s.provenance.cpu : 'an unknown CPU';
  return `${cpu}, ${s.threads} thread${s.threads === 1 ? '' : 's'}`;
};

/**
 * The comparison of a finished run with a reference model's committed run (pure).
 * Validation loss is compared directly, provided data, budget, schedule and
 * evaluation agree (else one line says which setting differs). Speed is not:
 * the committed runs come from another machine, so the ratio printed is the one
 * both committed runs measured together on that machine (`own`, when it is
 * this run's plan and budget), with this run's tokens/s beside it; without
 * `own`, the ratio is across machines and labelled so.
 */
export function formatComparison(
  run: RunSummary,
  ref: { name: string; path: string; summary: RunSummary },
  own?: { path: string; summary: RunSummary },
): string[] {
  const base = ref.summary;
  const differs = budgetDifference(run, base);
  if (differs) {
    return [`hsm: not compared with ${ref.name}'s committed run (${ref.path}): this run differs in ${differs}`];
  }
  const loss = `val loss ${run.final_val_loss.toFixed(3)} vs ${base.final_val_loss.toFixed(3)} (${signedNats(run.final_val_loss - base.final_val_loss)})`;
  const head = `vs ${ref.name} (committed run, ${ref.path}): ${loss}`;
  const here = `here: ${tokens(run.train_tokens_per_s)} training tokens/s, ${minutes(run.wall_s)}`;
  const mine = own?.summary;
  if (mine && mine.plan === run.plan && budgetDifference(run, mine) === null) {
    const ratio = mine.train_tokens_per_s / base.train_tokens_per_s;
    return [
      `${head}, ${ratio.toFixed(2)}× ${ref.name}'s training tokens/s (both committed runs, on one machine)`,
      `  ${here}; committed runs on ${machine(base)}: this model ${tokens(mine.train_tokens_per_s)} tokens/s, ${minutes(mine.wall_s)}; ` +
        `${ref.name} ${tokens(base.train_tokens_per_s)} tokens/s, ${minutes(base.wall_s)} (${own.path})`,
    ];
  }
  const ratio = run.train_tokens_per_s / base.train_tokens_per_s;
  return [
    `${head}, ${ratio.toFixed(2)}× ${ref.name}'s training tokens/s across machines`,
    `  ${here}; ${ref.name}'s committed run: ${tokens(base.train_tokens_per_s)} tokens/s, ${minutes(base.wall_s)} on ${machine(base)}, not this machine`,
  ];
}

/**
 * The comparison lines for a finished run of a preset with a reference, reading
 * the committed files from the project root. Never throws: a missing or
 * damaged reference file gives a one-line note instead.
 */
export function compareWithReference(run: RunSummary, reference: PresetReference, root = projectRoot()): string[] {
  const read = (path: string) => readRunSummary(join(root, path), path);
  const base = read(reference.baseline);
  if ('problem' in base) return [`hsm: no comparison with ${reference.name}'s committed run: ${base.problem}`];
  const own = reference.own ? read(reference.own) : undefined;
  return formatComparison(
    run,
    { name: reference.name, path: reference.baseline, summary: base.summary },
    own && 'summary' in own ? { path: reference.own!, summary: own.summary } : undefined,
  );
}
