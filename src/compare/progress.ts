// Overall progress of a compare: training FLOPs left across all runs, at the pace seen so far.

/**
 * Progress of a compare in training FLOPs (forward + backward, as `hsm info`
 * counts them): the share of the grid's FLOPs trained, counting runs finished
 * (and steps trained) before this invocation, and the ETA from the FLOPs still
 * to train at this invocation's pace in FLOPs per second (evaluations
 * included in the pace). FLOPs rather than steps, because a grid's steps
 * differ in cost by several times (batch, context, model) and an ETA by steps
 * swings with whichever runs came first. A worker sees the runs others
 * finished when it started; a new plan (a sweep decided its picks, so more
 * runs are known) replaces the totals and keeps the pace.
 */
export class CompareEta {
  private readonly start = performance.now();
  private done = 0;

  /** `remaining`: FLOPs this invocation has to train; `before`: FLOPs of the grid trained before it. */
  constructor(
    private remaining: number,
    private before = 0,
  ) {}

  get flopsLeft(): number {
    return this.remaining;
  }

  /** A new plan: `remaining` left to train, `trained` FLOPs of the grid trained so far by anyone (this one included). */
  replan(remaining: number, trained: number): void {
    this.remaining = remaining;
    this.before = Math.max(0, trained - this.done);
  }

  /** One step of `flops` training FLOPs trained. */
  advance(flops: number): void {
    this.done += flops;
    this.remaining = Math.max(0, this.remaining - flops);
  }

  /** Whole percent of the grid's FLOPs trained (100 when there is nothing to train). */
  percent(): number {
    const total = this.before + this.done + this.remaining;
    return total ? Math.floor((100 * (this.before + this.done)) / total) : 100;
  }

  /** Seconds left, or null before the first step. */
  seconds(): number | null {
    if (this.done === 0) return null;
    return ((performance.now() - this.start) / 1000 / this.done) * this.remaining;
  }
}

/** 3725 → "1h02m", 185 → "3m05s", 9.2 → "9s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
