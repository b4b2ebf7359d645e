/** The messages between a page (index.ts's HsmWorker) and the Web Worker that runs the model (worker.ts). */
import type { ModelInfo } from './load-run.js';

export interface GenerateRequest {
  prompt: string;
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  /** Return each token's time (GenerateResult.tokenTimesMs), for benchmarks; off by default. */
  recordTimes?: boolean;
}

/** A tiny model trained in the page on pasted text (the `smoke` size by default). */
export interface TrainRequest {
  text: string;
  steps: number;
  plan: string;
  nEmbd: number;
  nHead: number;
  context: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface GenerateResult {
  tokens: number;
  /** Milliseconds from the request to the first token, and tokens per second after it. */
  firstTokenMs: number;
  tokensPerSecond: number;
  stopped: boolean;
  /** With recordTimes: when each generated token was drawn, in ms since the request arrived (worker clock). */
  tokenTimesMs?: number[];
}

export interface TrainResult {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  ms: number;
  stopped: boolean;
  info: ModelInfo;
}

export type Request =
  | { id: number; type: 'init'; wasmUrl: string | null }
  | { id: number; type: 'load'; modelUrl: string }
  | ({ id: number; type: 'generate' } & GenerateRequest)
  | ({ id: number; type: 'train' } & TrainRequest)
  | { id: number; type: 'stop' };

export type Reply =
  | { id: number; type: 'done'; value: unknown }
  | { id: number; type: 'error'; message: string }
  | { id: number; type: 'text'; text: string; tokens: number }
  | { id: number; type: 'step'; step: number; loss: number };
