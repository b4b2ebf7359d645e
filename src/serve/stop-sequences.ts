// Stop sequences over streamed text. Text is released as soon as it cannot be
// the start of a stop sequence, so a stream never shows part of a stop string
// and then takes it back.

export class StopMatcher {
  private pending = '';
  /** Set once a stop sequence has been seen; nothing after it is released. */
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds decoded text; returns the text that is now safe to show. */
  push(text: string): string {
    if (this.stopped) return '';
    if (this.stops.length === 0) return text; // nothing to hold back (most requests; this runs per token)
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    // Hold back the longest tail that could still grow into a stop sequence.
    const hold = Math.max(0, ...this.stops.map((s) => overlap(this.pending, s)));
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** The end of the stream: whatever was held back is text after all. */
  flush(): string {
    const out = this.stopped ? '' : this.pending;
    this.pending = '';
    return out;
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `stop`. */
function overlap(text: string, stop: string): number {
  for (let n = Math.min(text.length, stop.length - 1); n > 0; n--) if (stop.startsWith(text.slice(-n))) return n;
  return 0;
}
