// A model's decode thread (started by decode-thread.ts): loads the run folder,
// runs its continuous batcher, and after every step sends the step's tokens and
// ends to the HTTP thread in one message.
import { parentPort, workerData } from 'node:worker_threads';
import { setBackend, type BackendName } from '../backend/index.js';
import { loadModel } from '../train/checkpoint.js';
import { ContinuousBatcher, type EndReason } from './batcher.js';
import {
  END_REASONS,
  STAT_KEYS,
  type DecodeThreadData,
  type FromDecodeThread,
  type ToDecodeThread,
} from './decode-thread-protocol.js';

const port = parentPort!;
const data = workerData as DecodeThreadData;
const send = (msg: FromDecodeThread) => port.postMessage(msg);

try {
  setBackend(data.backend as BackendName);
  const { model } = loadModel(data.dir);
  model.packWeights(); // as the HTTP thread's copy: a served model never trains
  const stats = new Float64Array(data.stats);
  const controllers = new Map<number, AbortController>();
  let events: number[] = [];
  let errors: Record<number, string> | undefined;
  const onEnd = (id: number, reason: EndReason, error?: unknown) => {
    controllers.delete(id);
    events.push(-id - 1, END_REASONS.indexOf(reason));
    if (reason === 'error') (errors ??= {})[id] = error instanceof Error ? error.message : String(error);
  };
  const batcher: ContinuousBatcher = new ContinuousBatcher(model, {
    parallel: data.parallel,
    maxQueue: Number.MAX_SAFE_INTEGER, // the HTTP thread admits: it never hands over more than it allows
    afterStep: () => {
      for (const [i, key] of STAT_KEYS.entries()) stats[i] = batcher.stats[key];
      if (events.length === 0) return;
      send({ type: 'step', events, errors, decoding: batcher.activeCount, waiting: batcher.queuedCount });
      events = [];
      errors = undefined;
    },
  });
  port.on('message', (msg: ToDecodeThread) => {
    if (msg.type === 'cancel') for (const id of msg.ids) controllers.get(id)?.abort();
    else
      batcher.submit(
        msg.jobs.map(({ id, prompt, opts }) => {
          const controller = new AbortController();
          controllers.set(id, controller);
          return {
            prompt,
            opts,
            signal: controller.signal,
            onToken: (token: number) => (events.push(id, token), true),
            onEnd: (reason: EndReason, error?: unknown) => onEnd(id, reason, error),
          };
        }),
      );
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}
