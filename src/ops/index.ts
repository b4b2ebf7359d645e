/** Differentiable operations: compose these to build layers; each records its own backward pass. */
export { add, mul, scale, gelu, sigmoid, sum } from './elementwise.js';
export { matmul, linear } from './matmul.js';
export { layerNorm, softmax } from './normalization.js';
export { causalAttention } from './attention.js';
export { crossEntropy } from './loss.js';
export { embedding, rows, shift } from './indexing.js';
export { dropout } from './dropout.js';
