// Reruns the native-vs-js comparison with each instruction set forced (HSM_ISA),
// so the AVX2 and portable builds of every kernel are tested on an AVX-512 machine too.
import { test } from 'node:test';
import { assertKernelSuitePasses } from './kernel-suite.js';
import { nativeMissing } from './toolchains.js';

const skip = nativeMissing();

for (const isa of ['avx2', 'generic']) {
  test(`native kernels on ${isa} equal js`, { skip }, () => {
    assertKernelSuitePasses({ HSM_ISA: isa }, `HSM_ISA=${isa}`);
  });
}
