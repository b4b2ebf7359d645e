import { matchFfnWidth } from '../model/cost.js';
import type { ModelConfig } from '../model/transformer.js';
import type { TrainConfig } from './config.js';

/** The model a training configuration describes, with parameter matching applied. */
export function resolveModelConfig(m: TrainConfig['model'], vocabSize: number): ModelConfig {
  const { matchParams, ...rest } = m;
  const config: ModelConfig = { vocabSize, ...rest };
  if (matchParams) config.ffnHidden = matchFfnWidth(config, matchParams).ffnHidden;
  return config;
}
