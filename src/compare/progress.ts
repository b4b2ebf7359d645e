// Overall progress of a compare: steps left across all runs, at the pace seen so far.

/**
 * Progress of a compare: the share of the grid's training steps done, counting
 * runs finished (and steps trained) before this invocation, and the ETA from
 * the steps still to run at the pace of this invocation (evaluations included
 * in the pace). A worker sees the runs others finished when it started.
 */
export class CompareEta {
  private readonly start = performance.now();
  private done = 0;

  /** `remaining`: steps this invocation has to train; `before`: steps of the grid trained before it. */
  constructor(
    private remaining: number,
    private readonly before = 0,
  ) {}

  get stepsLeft(): number {
    return this.remaining;
  }

  advance(steps = 1): void {
    this.done += steps;
    this.remaining = Math.max(0, this.remaining - steps);
  }

  /** Whole percent of the grid's steps trained (100 when there is nothing to train). */
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
