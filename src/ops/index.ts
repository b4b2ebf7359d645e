/**
 * Differentiable operations: compose these to build layers; each records its own backward pass.
 * The library exports them as `ops`; gelu, softmax and sum are public ops the built-in models do not use.
 */
export { add, sub, mul, scale, gelu, sigmoid, sum } from './elementwise.js';
export { groupSum, groupExpand } from './groups.js';
export { matmul, linear } from './matmul.js';
export { mlp } from './mlp.js';
export { layerNorm, rmsNorm, softmax } from './normalization.js';
export { swiglu } from './swiglu.js';
export { rotary, rotaryTables, type RotaryTables } from './rotary.js';
export { causalAttention } from './attention.js';
export { crossEntropy } from './loss.js';
export { columns, embedding, rows, shift } from './indexing.js';
export { dropout } from './dropout.js';
export { shiftMix } from './shift-mix.js';
