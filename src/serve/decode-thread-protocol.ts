// The messages between the HTTP thread (decode-thread.ts) and a model's decode
// thread (decode-thread-worker.ts).
import type { BackendName } from '../backend/index.js';
import type { GenerateOptions } from '../generate/generate.js';
import type { BatcherStats, EndReason } from './batcher.js';

/** What the decode thread starts with. */
export interface DecodeThreadData {
  /** The run folder to load (the HTTP thread loaded it too, for its card, tokenizer and checks). */
  dir: string;
  parallel: number;
  /** The HTTP thread's backend, so both threads compute alike. */
  backend: BackendName | string;
  /** The batcher's counters, written by the decode thread after every step in STAT_KEYS order (Float64). */
  stats: SharedArrayBuffer;
}

export type ToDecodeThread =
  | { type: 'submit'; jobs: { id: number; prompt: Int32Array; opts: GenerateOptions }[] }
  /** End these jobs (the client went away, or a stop sequence was found); unknown ids are ignored. */
  | { type: 'cancel'; ids: number[] };

export type FromDecodeThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  /**
   * One step: `events` holds pairs, (id, token) for a drawn token and (−id − 1, index into END_REASONS) for
   * a job's end, in the order they happened; `errors` the message of each job that ended with an error.
   */
  | { type: 'step'; events: number[]; errors?: Record<number, string>; decoding: number; waiting: number };

export const END_REASONS: readonly EndReason[] = ['stop', 'length', 'cancelled', 'shutdown', 'error'];

export const STAT_KEYS = [
  'steps',
  'tokens',
  'largestBatch',
  'prefillSteps',
  'promptTokens',
  'stepMs',
  'passMs',
  'fullDecodeMs',
  'fullDecodeSteps',
  'sampleMs',
] as const satisfies readonly (keyof BatcherStats)[];
