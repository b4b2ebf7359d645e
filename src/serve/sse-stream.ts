// The body of a streamed completion: Server-Sent Events in a ReadableStream,
// with the tokens of a request gathered into one write per interval.
//
// Why gather: at small model widths a batch step takes about a millisecond, and
// a token sent on its own costs the server a JSON chunk, a pass through the
// web stream and a socket write (a system call that on loopback also runs the
// receiver's side of TCP) per client and step, about as much as the model's
// share of that step. Text therefore waits up to `intervalMs` after the
// request's last text write for more of its tokens, and goes out as one delta
// per choice. The first text goes at once (the time to first token is not
// delayed), and every other event (a finish, an error, usage, [DONE]) goes at
// once with whatever text waits before it. Text waits at most intervalMs plus
// one batch step: the next token of the request (or its end) writes it.

export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private open = true;
  /** performance.now() of the last write that held text. */
  private lastText = -Infinity;
  /** Text not yet written, by choice index (in the order the choices first had some). */
  private readonly waiting = new Map<number, string>();
  private readonly encoder = new TextEncoder();

  /**
   * @param intervalMs how long text may wait for more tokens (0: every token is written when drawn)
   * @param textEvent the event that carries `text` for choice `index`
   * @param onCancel called when the client goes away
   */
  constructor(
    private readonly intervalMs: number,
    private readonly textEvent: (index: number, text: string) => unknown,
    onCancel: () => void,
  ) {
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.controller = c;
      },
      cancel: () => {
        this.open = false;
        onCancel();
      },
    });
  }

  /** New text of choice `index`: written now, or with the next write within the interval. */
  text(index: number, text: string): void {
    if (!this.open) return;
    this.waiting.set(index, (this.waiting.get(index) ?? '') + text);
    if (performance.now() - this.lastText >= this.intervalMs) this.write([]);
  }

  /** An event (an object to JSON-encode, or a string such as "[DONE]"), written now after the text that waits. */
  event(data: unknown): void {
    if (this.open) this.write([data]);
  }

  /** Ends the body; text still waiting is written first. */
  close(): void {
    if (!this.open) return;
    this.write([]);
    this.open = false;
    this.controller.close();
  }

  private write(events: unknown[]): void {
    let out = '';
    if (this.waiting.size > 0) {
      for (const [index, text] of this.waiting) out += sse(this.textEvent(index, text));
      this.waiting.clear();
      this.lastText = performance.now();
    }
    for (const data of events) out += sse(data);
    if (out) this.controller.enqueue(this.encoder.encode(out));
  }
}

function sse(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
