// Continuous batching for one model: every active sequence advances by one
// token per step in one batched pass, joining requests are prefilled in that
// same pass (Transformer.decodeAndPrefill), and finished or cancelled ones
// leave at once. Steps run
// on the event loop with setImmediate between them, so HTTP I/O (new
// requests, streamed tokens, disconnects) is handled between every two steps.
import { GenerationStream, type GenerateOptions } from '../generate/generate.js';
import { Sampler } from '../generate/sampler.js';
import type { Transformer } from '../model/transformer.js';
import { ApiError } from './api-error.js';

export type EndReason = 'stop' | 'length' | 'cancelled' | 'shutdown' | 'error';

/** One sequence to generate (one choice of a request). */
export interface Job {
  prompt: Int32Array;
  opts: GenerateOptions;
  signal: AbortSignal;
  /** Each token as it is drawn; return false to end the sequence here (a stop sequence was hit). */
  onToken(token: number): boolean;
  /** Called once, last. */
  onEnd(reason: EndReason, error?: unknown): void;
}

export interface BatcherOptions {
  /** Most sequences decoding at once. */
  parallel: number;
  /** Most sequences waiting for a slot; beyond it submit refuses at once (429). */
  maxQueue: number;
  /** Prompt tokens prefilled between two decode steps (at least one prompt), so joining requests do not stall the others. */
  prefillTokensPerStep?: number;
}

/** Counters since the server started (`/health` shows them; `hsm bench serve` takes differences over its load). */
export interface BatcherStats {
  steps: number;
  tokens: number;
  largestBatch: number;
  /** Steps whose pass also prefilled joining prompts, and the prompt tokens they prefilled. */
  prefillSteps: number;
  promptTokens: number;
  /** Milliseconds in whole steps; in the model's passes; in the passes that only decoded a full batch (`parallel` sequences). */
  stepMs: number;
  passMs: number;
  fullDecodeMs: number;
  fullDecodeSteps: number;
  /** Milliseconds drawing tokens and handing them to their requests (tokenizer, stop sequences, the stream's buffer). */
  sampleMs: number;
}

interface Active {
  job: Job;
  stream: GenerationStream;
}

export class ContinuousBatcher {
  private readonly queue: Job[] = [];
  private active: Active[] = [];
  private scheduled = false;
  private closed = false;
  private readonly sampler = new Sampler(); // steps run one at a time, so one scratch serves all sequences
  /** Counters for /health and the benchmark. */
  readonly stats: BatcherStats = {
    steps: 0,
    tokens: 0,
    largestBatch: 0,
    prefillSteps: 0,
    promptTokens: 0,
    stepMs: 0,
    passMs: 0,
    fullDecodeMs: 0,
    fullDecodeSteps: 0,
    sampleMs: 0,
  };

  constructor(
    private readonly model: Transformer,
    private readonly opts: BatcherOptions,
  ) {}

  get activeCount(): number {
    return this.active.length;
  }
  get queuedCount(): number {
    return this.queue.length;
  }

  /** Queues jobs (all or none); a full queue is a 429 now rather than a wait. */
  submit(jobs: Job[]): void {
    if (this.closed) throw new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');
    const most = this.opts.parallel + this.opts.maxQueue;
    if (jobs.length > most)
      throw new ApiError(
        400,
        `this request needs ${jobs.length} sequences (prompts × n), more than this server ever holds at once ` +
          `(--parallel ${this.opts.parallel} + --max-queue ${this.opts.maxQueue} = ${most}); send fewer prompts or a smaller n`,
      );
    const room = this.opts.maxQueue - this.queue.length + Math.max(0, this.opts.parallel - this.active.length);
    if (jobs.length > room)
      throw new ApiError(
        429,
        `the server is busy: ${this.active.length} sequences decoding and ${this.queue.length} waiting ` +
          `(--parallel ${this.opts.parallel}, --max-queue ${this.opts.maxQueue}); retry later`,
        'rate_limit_error',
        null,
        'queue_full',
      );
    this.queue.push(...jobs);
    this.wake();
  }

  /** Ends every job (each gets onEnd('shutdown')) and refuses new ones. */
  shutdown(): void {
    this.closed = true;
    for (const a of this.active) end(a.job, 'shutdown');
    for (const job of this.queue) end(job, 'shutdown');
    this.active = [];
    this.queue.length = 0;
  }

  private wake(): void {
    if (this.scheduled || this.closed || (this.active.length === 0 && this.queue.length === 0)) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.step();
      this.wake();
    });
  }

  /**
   * One scheduling step: drop cancelled sequences; one pass of the model that
   * feeds each running sequence the token it drew last step and prefills the
   * joining requests (GenerationStream.advanceTogether), so that a joining
   * prompt shares the step's reading of the weights instead of taking a pass
   * of its own; then a token for every sequence, the joining ones included,
   * from the logits just computed. Finished sequences leave at once.
   */
  private step(): void {
    const stats = this.stats,
      t0 = performance.now();
    this.active = this.active.filter((a) => {
      if (!a.job.signal.aborted) return true;
      end(a.job, 'cancelled');
      return false;
    });
    const running = this.active;
    const [shared = [], ...own] = prefillGroups(this.admit()).map((group) =>
      group.flatMap((job) => this.newStream(job)),
    );
    let joining = 0;
    for (const group of [shared, ...own])
      for (const a of group) {
        joining++;
        stats.promptTokens += a.job.prompt.length;
      }
    if (running.length > 0 || joining > 0) {
      stats.steps++;
      stats.largestBatch = Math.max(stats.largestBatch, running.length);
    }
    if (joining > 0) stats.prefillSteps++;
    const t1 = performance.now();
    // Further prefill groups take a pass of their own (no running sequences).
    this.active = [...this.pass(running, shared), ...own.flatMap((group) => this.pass([], group))];
    const t2 = performance.now();
    stats.passMs += t2 - t1;
    if (joining === 0 && running.length === this.opts.parallel) {
      stats.fullDecodeMs += t2 - t1;
      stats.fullDecodeSteps++;
    }
    this.active = this.active.filter((a) => {
      let token: number;
      try {
        token = a.stream.sample();
      } catch (err) {
        end(a.job, 'error', err);
        return false;
      }
      stats.tokens++;
      if (!deliver(a.job, token)) end(a.job, 'stop');
      else if (a.stream.finished) end(a.job, 'length');
      else return true;
      return false;
    });
    const t3 = performance.now();
    stats.sampleMs += t3 - t2;
    stats.stepMs += t3 - t0;
  }

  /** Waiting jobs that join the batch now, within the prefill budget. */
  private admit(): Job[] {
    let budget = this.opts.prefillTokensPerStep ?? 2048;
    const joining: Job[] = [];
    while (this.queue.length > 0 && this.active.length + joining.length < this.opts.parallel) {
      const job = this.queue[0];
      if (joining.length > 0 && job.prompt.length > budget) break; // waits for the next step; a step always takes one
      this.queue.shift();
      if (job.signal.aborted) {
        end(job, 'cancelled');
        continue;
      }
      budget -= job.prompt.length;
      joining.push(job);
    }
    return joining;
  }

  /** The job's stream, not yet prefilled; a prompt the model cannot take (a token outside its vocabulary) ends the job here. */
  private newStream(job: Job): Active[] {
    try {
      return [{ job, stream: new GenerationStream(this.model, job.prompt, job.opts, this.sampler, 'later') }];
    } catch (err) {
      end(job, 'error', err);
      return [];
    }
  }

  /**
   * One pass of the model: the running sequences' next token and the joining
   * ones' prefill. Returns the sequences it leaves running; if it fails, that
   * is a bug, not a request's fault (each prompt was checked when its stream
   * was made), so it ends everything in the pass rather than serve wrong tokens.
   */
  private pass(running: Active[], joining: Active[]): Active[] {
    const all = [...running, ...joining];
    if (all.length === 0) return all;
    try {
      GenerationStream.advanceTogether(
        this.model,
        running.map((a) => a.stream),
        joining.map((a) => a.stream),
      );
      return all;
    } catch (err) {
      for (const a of all) end(a.job, 'error', err);
      return [];
    }
  }
}

/**
 * Rows (prompts × padded length) of one batched prefill at most: its
 * temporaries all live until it ends, and 64 joining prompts of 16 tokens in
 * one pass raised the server's peak RSS by about half for no gain in
 * throughput over groups of this size (`hsm bench serve` reports both).
 */
const PREFILL_GROUP_ROWS = 256;

/**
 * Joining jobs in groups to prefill together: by prompt length, each group
 * padded to its longest prompt at most a quarter beyond its own tokens, and
 * at most PREFILL_GROUP_ROWS rows (a longer prompt is a group of its own).
 */
function prefillGroups(jobs: Job[]): Job[][] {
  const sorted = [...jobs].sort((a, b) => a.prompt.length - b.prompt.length);
  const groups: Job[][] = [];
  let group: Job[] = [],
    tokens = 0;
  for (const job of sorted) {
    const n = job.prompt.length;
    const rows = (group.length + 1) * n; // sorted: n is the group's longest so far
    if (group.length > 0 && (rows > 1.25 * (tokens + n) || rows > PREFILL_GROUP_ROWS)) {
      groups.push(group);
      group = [];
      tokens = 0;
    }
    group.push(job);
    tokens += n;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** A job's token callback; one that throws (a closed socket, say) ends that job only. */
function deliver(job: Job, token: number): boolean {
  try {
    return job.onToken(token);
  } catch {
    return false;
  }
}

function end(job: Job, reason: EndReason, error?: unknown): void {
  try {
    job.onEnd(reason, error);
  } catch {
    // the request is gone; nothing left to tell it
  }
}
