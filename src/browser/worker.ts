/**
 * The Web Worker side: it owns the kernels and the model, so decoding and
 * training never block the page. Long loops give the event loop a turn every
 * few milliseconds, so a `stop` message ends them between tokens or steps.
 */
import { loadWasmKernels, useKernels, kernels, type WasmKernels } from '../backend/index.js';
import { Tape } from '../autograd/tape.js';
import { createStreamDecoder } from '../data/stream-decoder.js';
import { createTokenizer } from '../data/tokenizers.js';
import { TokenDataset } from '../data/dataset.js';
import { GenerationStream } from '../generate/generate.js';
import { parsePlan } from '../model/plan.js';
import { Transformer } from '../model/transformer.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../tensor/random.js';
import { learningRate, parseTrainConfig } from '../train/config.js';
import { trainStep } from '../train/step.js';
import { loadRun, modelInfo, type LoadedRun } from './load-run.js';
import type { GenerateRequest, GenerateResult, Reply, Request, TrainRequest, TrainResult } from './protocol.js';

interface WorkerScope {
  postMessage(message: Reply): void;
  addEventListener(type: 'message', listener: (event: { data: Request }) => void): void;
}

/** How long a loop runs before yielding to the event loop (to hear `stop`). */
const SLICE_MS = 30;

/**
 * A function that lets queued messages (`stop`) run, then resolves. A message
 * to ourselves on a MessageChannel is a task like the page's messages, without
 * the 4 ms that browsers add to a setTimeout(0) chain after a few rounds
 * (about a tenth of decoding time at a 30 ms slice).
 */
function turnYielder(): () => Promise<void> {
  if (typeof MessageChannel !== 'function') return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
}

export function startWorker(scope: WorkerScope): void {
  const yieldTurn = turnYielder();
  let current: Pick<LoadedRun, 'model' | 'tokenizer' | 'info'> | null = null;

  /**
   * The model generate uses. On the wasm kernels its weights are pinned in the
   * module's memory (decoding reads every weight once per token, so copying them
   * in on every call would cost as much as the products); the previous model's
   * are freed.
   */
  function setCurrent(next: NonNullable<typeof current>): void {
    const backend = kernels() as Partial<WasmKernels>;
    const weights = (model: Transformer) => model.params.list.map((p) => p.data as Float32Array);
    if (current) backend.unpin?.(weights(current.model));
    backend.pin?.(weights(next.model));
    current = next;
  }
  let stopRequested = false;

  async function generate(id: number, r: GenerateRequest): Promise<GenerateResult> {
    if (!current) throw new Error('no model loaded: load one (or train one) first');
    const { model, tokenizer } = current;
    const started = performance.now();
    const prompt = tokenizer.encode(r.prompt);
    if (prompt.length === 0) throw new Error('the prompt is empty after tokenisation; type at least one character');
    const stream = new GenerationStream(model, prompt, { ...r });
    const decoder = createStreamDecoder(tokenizer);
    // Preallocated, so recording a time is one store; null (one branch per token) when not asked for.
    const times = r.recordTimes ? new Float64Array(r.maxTokens) : null;
    let firstTokenAt = 0,
      sliceStart = performance.now(),
      pending = '';
    while (!stream.finished && !stopRequested) {
      pending += decoder.push(stream.sample());
      if (times) times[stream.generated - 1] = performance.now() - started;
      if (stream.generated === 1) firstTokenAt = performance.now();
      if (!stream.finished) stream.advance();
      if (performance.now() - sliceStart > SLICE_MS || stream.finished) {
        if (pending) scope.postMessage({ id, type: 'text', text: pending, tokens: stream.generated });
        pending = '';
        await yieldTurn();
        sliceStart = performance.now();
      }
    }
    const tail = pending + decoder.flush();
    if (tail) scope.postMessage({ id, type: 'text', text: tail, tokens: stream.generated });
    const end = performance.now();
    return {
      tokens: stream.generated,
      firstTokenMs: firstTokenAt - started,
      tokensPerSecond: stream.generated > 1 ? ((stream.generated - 1) * 1000) / (end - firstTokenAt) : 0,
      stopped: stopRequested,
      ...(times && { tokenTimesMs: Array.from(times.subarray(0, stream.generated)) }),
    };
  }

  async function train(id: number, r: TrainRequest): Promise<TrainResult> {
    const tokenizer = createTokenizer('char', r.text);
    const data = TokenDataset.fromText(r.text, tokenizer, { valFraction: 0.1 });
    data.checkContext(r.context);
    const model = new Transformer(
      {
        vocabSize: tokenizer.vocabSize,
        blockSize: r.context,
        nLayer: parsePlan(r.plan).length,
        nHead: r.nHead,
        nEmbd: r.nEmbd,
        plan: r.plan,
      },
      { seed: r.seed },
    );
    const optimizer = new AdamW(model.params.list, { lr: r.lr, beta2: 0.99, weightDecay: 0.1, gradClip: 1 });
    const tape = new Tape();
    const rng = new Rng(r.seed);
    // The trainer's schedule (train/config.ts): warm-up over the first tenth, then cosine to a tenth of lr.
    const schedule = parseTrainConfig({
      lr: r.lr,
      minLr: r.lr / 10,
      warmupIters: Math.max(1, Math.floor(r.steps / 10)),
      maxIters: r.steps,
      lrDecayIters: r.steps,
    });
    const started = performance.now();
    let firstLoss = NaN,
      lastLoss = NaN,
      step = 0,
      sliceStart = performance.now();
    for (; step < r.steps && !stopRequested; step++) {
      const lr = learningRate(schedule, step);
      const { loss } = trainStep({
        model,
        optimizer,
        tape,
        batchSize: r.batchSize,
        context: r.context,
        batch: () => data.sampleBatch('train', rng, r.batchSize, r.context),
        lr,
      });
      if (step === 0) firstLoss = loss;
      lastLoss = loss;
      scope.postMessage({ id, type: 'step', step: step + 1, loss });
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldTurn();
        sliceStart = performance.now();
      }
    }
    const info = modelInfo(model, tokenizer.kind, 0);
    setCurrent({ model, tokenizer, info });
    return { steps: step, firstLoss, lastLoss, ms: performance.now() - started, stopped: stopRequested, info };
  }

  async function handle(request: Request): Promise<unknown> {
    switch (request.type) {
      case 'init':
        if (request.wasmUrl) useKernels(await loadWasmKernels(fetch(request.wasmUrl)));
        return { backend: kernels().name };
      case 'load':
        setCurrent(await loadRun(request.modelUrl));
        return current!.info;
      case 'generate':
        return generate(request.id, request);
      case 'train':
        return train(request.id, request);
      case 'stop':
        return null;
    }
  }

  // One request at a time; `stop` is the exception: it flags the running loop.
  let queue = Promise.resolve();
  scope.addEventListener('message', ({ data }) => {
    if (data.type === 'stop') {
      stopRequested = true;
      scope.postMessage({ id: data.id, type: 'done', value: null });
      return;
    }
    queue = queue.then(async () => {
      stopRequested = false;
      try {
        scope.postMessage({ id: data.id, type: 'done', value: await handle(data) });
      } catch (err) {
        scope.postMessage({ id: data.id, type: 'error', message: (err as Error).message ?? String(err) });
      }
    });
  });
}
