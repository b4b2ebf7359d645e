// Overall progress of a compare: steps left across all runs, at the pace seen so far.

/** ETA from the training steps still to run and the pace of this invocation (evaluations included in the pace). */
export class CompareEta {
  private readonly start = performance.now();
  private done = 0;

  constructor(private remaining: number) {}

  get stepsLeft(): number {
    return this.remaining;
  }

  advance(steps = 1): void {
    this.done += steps;
    this.remaining = Math.max(0, this.remaining - steps);
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
