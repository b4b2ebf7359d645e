/**
 * hsm as a library. The CLI (src/cli) is a thin layer over these exports.
 *
 *   const cfg = parseTrainConfig({ out: 'runs/mini', maxIters: 200 });
 *   const { model, tokenizer } = await train(cfg, { corpus: { name: 'mine', text, source: 'memory' } });
 *   console.log(generateText(model, tokenizer, 'Once upon a time'));
 */
export { Tensor } from './tensor/tensor.js';
export { Rng } from './tensor/random.js';
export { Tape } from './autograd/tape.js';
export * as ops from './ops/index.js';
export {
  kernels,
  setBackend,
  withBackend,
  nativeBackend,
  jsKernels,
  type Kernels,
  type BackendName,
} from './backend/index.js';
export { describeModel, matchFfnWidth } from './model/cost.js';
export {
  modelDescription,
  MODEL_DESCRIPTION_FORMAT,
  type ModelDescription,
  type BlockDescription,
} from './model/describe.js';
export { Transformer, type ModelConfig } from './model/transformer.js';
export { parsePlan, formatPlan, type BlockSpec } from './model/plan.js';
export { MIXERS } from './model/mixers/registry.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { parseTrainConfig, PRESETS, learningRate, type TrainConfig } from './train/config.js';
export { train, type TrainResult, type StepMetrics, type TrainHooks } from './train/trainer.js';
export { loadModel, saveCheckpoint } from './train/checkpoint.js';
export { estimateLoss } from './train/evaluate.js';
export { GenerationStream, generateTokens, generateText, type GenerateOptions } from './generate/generate.js';
export { Sampler, sampleToken, type SamplingOptions } from './generate/sampler.js';
export { startServer, type ServeOptions, type RunningServer } from './serve/server.js';
export * from './data/index.js';
export { UserError } from './errors.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
