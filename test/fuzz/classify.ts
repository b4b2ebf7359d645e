// The classification of an outcome (ok-error, stack-trace, hang, silent-acceptance, …) and what counts as ok.
import type { LineExpectation } from './cli-cases.js';
import type { RunResult } from './run-cli.js';
import { METRICS, type Expectation, type Mutant } from './types.js';

export type CaseClass =
  | 'ok-error'
  | 'ok-accepted-unchanged'
  | 'ok-accepted-valid'
  | 'ok-repaired-with-warning'
  | 'accepted-valid-edit'
  | 'rejected-valid'
  | 'stack-trace'
  | 'hang'
  | 'silent-acceptance'
  | 'multi-line-error'
  | 'error-without-hsm-prefix'
  | 'excess-memory'
  | 'other';

/** The classes that meet the reliability goal. */
export const OK_CLASSES: ReadonlySet<CaseClass> = new Set([
  'ok-error',
  'ok-accepted-unchanged',
  'ok-accepted-valid',
  'ok-repaired-with-warning',
]);

/** How an exit code of 0 is to be judged: `same` says whether the outcome equals the reference's. */
export type AcceptRule =
  | { kind: 'line'; expect: LineExpectation }
  | {
      kind: 'mutant';
      expect: Expectation;
      same: boolean;
      /** A damaged log (metrics.jsonl only) that the command repaired and named on stderr. */
      repairedLog?: boolean;
    };

export const stderrLines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

export const RSS_LIMIT_KB = 1024 * 1024;

export function classify(res: RunResult, rule: AcceptRule): CaseClass {
  if (res.timedOut) return 'hang';
  if (res.code === 1 || /^ {4}at /m.test(res.stderr)) return 'stack-trace';
  let cls: CaseClass;
  if (res.code === 2) {
    const lines = stderrLines(res.stderr);
    if (rule.kind === 'line' && rule.expect === 'valid') cls = 'rejected-valid';
    else if (lines.length === 1 && lines[0].startsWith('hsm: ')) cls = 'ok-error';
    else if (lines.length === 1) cls = 'error-without-hsm-prefix';
    else cls = 'multi-line-error';
  } else if (res.code === 0) {
    if (rule.kind === 'line') cls = rule.expect === 'invalid' ? 'silent-acceptance' : 'ok-accepted-valid';
    else if (rule.expect === 'strict') cls = 'silent-acceptance';
    else if (rule.same) cls = 'ok-accepted-unchanged';
    else if (rule.repairedLog && rule.expect === 'damage') cls = 'ok-repaired-with-warning';
    else cls = rule.expect === 'valid-edit' ? 'accepted-valid-edit' : 'silent-acceptance';
  } else cls = 'other';
  if (OK_CLASSES.has(cls) && res.maxRssKb !== null && res.maxRssKb > RSS_LIMIT_KB) return 'excess-memory';
  return cls;
}

/**
 * Whether a command repaired a damaged metrics log and said so: the mutant touched only metrics.jsonl
 * and a stderr line names it. (Weights or configuration "repaired" with a warning do not count.)
 */
export function repairedLog(mutant: Mutant, res: RunResult): boolean {
  const names = Object.keys(mutant.files);
  return (
    names.length > 0 &&
    names.every((n) => n === METRICS) &&
    stderrLines(res.stderr).some((l) => l.startsWith('hsm: ') && l.includes(METRICS))
  );
}
