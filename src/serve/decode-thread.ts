// A model's continuous batcher on a thread of its own (worker_threads), so the
// model's passes overlap the HTTP thread's work: parsing requests, turning
// tokens into text and stop-sequence checks, writing Server-Sent Events. On the
// event loop (ContinuousBatcher alone) all of that ran between two steps; at
// small widths it took about as long as the step itself.
//
// The HTTP thread keeps every job's callbacks and decides admission (it knows
// what it has handed over and what has ended); the decode thread holds the
// model, runs the batcher and sends each step's tokens and ends in one message.
// A stop sequence is found here, after the token crossed over, so the decode
// thread may draw a token or two more for that sequence before the cancel
// reaches it; those are dropped, as the batcher drops a finished sequence.
import { Worker } from 'node:worker_threads';
import { kernels } from '../backend/index.js';
import { ApiError } from './api-error.js';
import { checkAdmission, deliver, end, type Batcher, type BatcherStats, type EndReason, type Job } from './batcher.js';
import {
  END_REASONS,
  STAT_KEYS,
  type DecodeThreadData,
  type ToDecodeThread,
  type FromDecodeThread,
} from './decode-thread-protocol.js';

const WORKER = new URL('./decode-thread-worker.js', import.meta.url);

export class ThreadedBatcher implements Batcher {
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private closed = false;
  /** Why the decode thread stopped working (it threw or exited), once it has. */
  private broken: string | null = null;
  private decoding = 0;
  private waiting = 0;
  private readonly shared: Float64Array;

  private constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
    private readonly opts: { parallel: number; maxQueue: number },
  ) {
    this.shared = new Float64Array(shared);
    worker.on('message', (msg: FromDecodeThread) => {
      if (msg.type === 'step') this.onStep(msg);
    });
    worker.on('error', (err) => this.fail(`the decode thread failed: ${err.message}`, err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(`the decode thread exited (code ${code})`);
    });
  }

  /** Starts the decode thread for the run folder `dir` and resolves once its model is loaded. */
  static async start(dir: string, opts: { parallel: number; maxQueue: number }): Promise<ThreadedBatcher> {
    const shared = new SharedArrayBuffer(STAT_KEYS.length * Float64Array.BYTES_PER_ELEMENT);
    const workerData: DecodeThreadData = { dir, parallel: opts.parallel, backend: kernels().name, stats: shared };
    const worker = new Worker(WORKER, { workerData });
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the decode thread for ${dir} exited (code ${code}) at start`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (msg: FromDecodeThread) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (msg.type === 'ready') resolve();
        else
          reject(
            new Error(`the decode thread for ${dir} did not start: ${msg.type === 'failed' ? msg.message : msg.type}`),
          );
      });
    });
    return new ThreadedBatcher(worker, shared, opts);
  }

  get stats(): BatcherStats {
    return Object.fromEntries(STAT_KEYS.map((key, i) => [key, this.shared[i]])) as unknown as BatcherStats;
  }
  get activeCount(): number {
    return this.decoding;
  }
  get queuedCount(): number {
    return this.waiting;
  }

  submit(jobs: Job[]): void {
    if (this.broken) throw new ApiError(500, `${this.broken}; see the server's log`, 'server_error');
    // What this thread handed over and has not seen end: the decode thread holds no more than that.
    const held = this.jobs.size,
      decoding = Math.min(held, this.opts.parallel);
    checkAdmission(jobs.length, decoding, held - decoding, this.closed, this.opts);
    const sent: ToDecodeThread = { type: 'submit', jobs: [] };
    const aborted: number[] = [];
    for (const job of jobs) {
      const id = this.nextId++;
      this.jobs.set(id, job);
      sent.jobs.push({ id, prompt: job.prompt, opts: job.opts });
      if (job.signal.aborted) aborted.push(id);
      else job.signal.addEventListener('abort', () => this.cancel([id]), { once: true });
    }
    this.worker.postMessage(sent);
    if (aborted.length > 0) this.cancel(aborted);
  }

  /** Ends every job (each gets onEnd('shutdown')), refuses new ones and stops the decode thread. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.endAll('shutdown');
    void this.worker.terminate();
  }

  private cancel(ids: number[]): void {
    if (!this.closed && !this.broken) this.worker.postMessage({ type: 'cancel', ids } satisfies ToDecodeThread);
  }

  /** One step's tokens and ends, in the order the decode thread drew them. */
  private onStep(msg: Extract<FromDecodeThread, { type: 'step' }>): void {
    this.decoding = msg.decoding;
    this.waiting = msg.waiting;
    const { events } = msg;
    const stopped: number[] = [];
    for (let i = 0; i < events.length; i += 2) {
      const tag = events[i];
      if (tag >= 0) {
        const job = this.jobs.get(tag);
        if (job && !deliver(job, events[i + 1])) {
          this.jobs.delete(tag);
          end(job, 'stop');
          stopped.push(tag);
        }
      } else {
        const id = -tag - 1,
          job = this.jobs.get(id);
        if (!job) continue; // ended here already (a stop sequence)
        this.jobs.delete(id);
        const reason = END_REASONS[events[i + 1]];
        end(job, reason, reason === 'error' ? new Error(msg.errors?.[id] ?? 'decoding failed') : undefined);
      }
    }
    if (stopped.length > 0) this.cancel(stopped);
  }

  private fail(why: string, err?: Error): void {
    if (this.broken || this.closed) return;
    this.broken = why;
    console.error(`hsm: ${why}`, err ?? '');
    this.endAll('error', new Error(why));
  }

  private endAll(reason: EndReason, error?: unknown): void {
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) end(job, reason, error);
  }
}
