import type { Kernels } from '../kernels.js';
import { attentionBackward, attentionDecode, attentionForward } from './attention.js';
import * as blockStyle from './block-style.js';
import * as elementwise from './elementwise.js';
import { fmaPeak } from './fma-peak.js';
import * as indexing from './indexing.js';
import { matmul, matmulPackedB, packMatmulB } from './matmul.js';
import * as normalization from './normalization.js';
import { adamw } from './optimizer.js';
import { shiftMixBackward, shiftMixForward } from './shift-mix.js';

/** The reference backend: plain TypeScript, float32 or float64, runs anywhere. */
export const jsKernels: Kernels = {
  name: 'js',
  matmul,
  packMatmulB,
  matmulPackedB,
  attentionForward,
  attentionBackward,
  attentionDecode,
  ...normalization,
  ...blockStyle,
  ...elementwise,
  ...indexing,
  shiftMixForward,
  shiftMixBackward,
  adamw,
  fmaPeak,
};
