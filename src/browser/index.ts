/**
 * hsm in a web page: the browser bundle's entry (dist/browser/hsm.js, built by
 * scripts/build-browser.cjs). A page creates an HsmWorker, which runs this same
 * file as a module Web Worker: the worker fetches the WebAssembly kernels and a
 * run folder (config.json + model.safetensors) and streams generated text back,
 * so decoding never blocks the page.
 *
 *   const hsm = await HsmWorker.start({ wasmUrl: 'hsm.wasm' });
 *   const info = await hsm.load('model/');
 *   await hsm.generate({ prompt: 'ROMEO:', maxTokens: 200 }, (text) => (out.textContent += text));
 *
 * The same modules also run on the page's own thread (loadRun, loadWasmKernels, useKernels, GenerationStream).
 */
import type { ModelInfo } from './load-run.js';
import type { GenerateRequest, GenerateResult, Reply, Request, TrainRequest, TrainResult } from './protocol.js';
import { startWorker } from './worker.js';

export { loadRun, type LoadedRun, type ModelInfo } from './load-run.js';
export type { GenerateRequest, GenerateResult, TrainRequest, TrainResult } from './protocol.js';
export { loadWasmKernels, useKernels, kernels, jsKernels } from '../backend/index.js';
export { GenerationStream, generateText } from '../generate/generate.js';

/** The defaults of a generate request: OpenAI-style sampling, 200 tokens. */
const GENERATE_DEFAULTS: Omit<GenerateRequest, 'prompt'> = {
  maxTokens: 200,
  temperature: 0.8,
  topK: 0,
  topP: 1,
  seed: 42,
};

/** The in-page training defaults: the `smoke` grid's size (d=64, 4 blocks, context 64, batch 4). */
export const TRAIN_DEFAULTS: Omit<TrainRequest, 'text'> = {
  steps: 100,
  plan: 'hsm:ab[proj]*4',
  nEmbd: 64,
  nHead: 4,
  context: 64,
  batchSize: 4,
  lr: 3e-3,
  seed: 1,
};

type Pending = { resolve(value: unknown): void; reject(err: Error): void; onEvent?(reply: Reply): void };

/** A model in a Web Worker. */
export class HsmWorker {
  /** The kernels the worker runs on: "wasm", or "js" when started with wasmUrl null. */
  backend = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (event: MessageEvent<Reply>) => {
      const reply = event.data,
        entry = this.pending.get(reply.id);
      if (!entry) return;
      if (reply.type === 'done' || reply.type === 'error') {
        this.pending.delete(reply.id);
        if (reply.type === 'done') entry.resolve(reply.value);
        else entry.reject(new Error(reply.message));
      } else entry.onEvent?.(reply);
    });
    worker.addEventListener('error', (event) => {
      const err = new Error(`hsm worker failed: ${event.message}`);
      for (const entry of this.pending.values()) entry.reject(err);
      this.pending.clear();
    });
  }

  /**
   * Starts the worker from this bundle's own URL and loads the kernels:
   * wasmUrl (default: hsm.wasm beside the bundle), or null for the js kernels.
   */
  static async start(options: { wasmUrl?: string | null; bundleUrl?: string } = {}): Promise<HsmWorker> {
    const bundleUrl = options.bundleUrl ?? import.meta.url;
    const wasmUrl = options.wasmUrl === undefined ? new URL('hsm.wasm', bundleUrl).href : options.wasmUrl;
    const hsm = new HsmWorker(new Worker(bundleUrl, { type: 'module', name: 'hsm' }));
    try {
      const init = await hsm.call<{ backend: string }>({
        type: 'init',
        wasmUrl: wasmUrl && new URL(wasmUrl, globalThis.location?.href).href,
      });
      hsm.backend = init.backend;
    } catch (err) {
      hsm.terminate(); // a worker that cannot start its kernels is no use; do not leave it running
      throw err;
    }
    return hsm;
  }

  private call<T>(request: DistributiveOmit<Request, 'id'>, onEvent?: (reply: Reply) => void): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
      this.worker.postMessage({ ...request, id } as Request);
    });
  }

  /** Loads a run folder served over HTTP (a URL of the folder holding config.json and model.safetensors). */
  load(modelUrl: string): Promise<ModelInfo> {
    return this.call({ type: 'load', modelUrl: new URL(modelUrl, globalThis.location?.href).href });
  }

  /** Generates from the prompt, calling onText with each piece of text as it is decoded. */
  generate(
    request: Partial<GenerateRequest> & { prompt: string },
    onText: (text: string, tokens: number) => void = () => {},
  ): Promise<GenerateResult> {
    return this.call({ type: 'generate', ...GENERATE_DEFAULTS, ...request }, (reply) => {
      if (reply.type === 'text') onText(reply.text, reply.tokens);
    });
  }

  /** Trains a tiny character-level model on `text`; it then replaces the loaded model (generate from it). */
  train(
    request: Partial<TrainRequest> & { text: string },
    onStep: (step: number, loss: number) => void = () => {},
  ): Promise<TrainResult> {
    return this.call({ type: 'train', ...TRAIN_DEFAULTS, ...request }, (reply) => {
      if (reply.type === 'step') onStep(reply.step, reply.loss);
    });
  }

  /** Ends a running generation or training at the next token or step (its promise then resolves with stopped: true). */
  stop(): Promise<void> {
    return this.call({ type: 'stop' });
  }

  terminate(): void {
    this.worker.terminate();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// Run as the worker when this bundle is loaded by `new Worker(...)`.
const WorkerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
if (WorkerScope !== undefined && globalThis instanceof WorkerScope) {
  startWorker(globalThis as unknown as Parameters<typeof startWorker>[0]);
}
