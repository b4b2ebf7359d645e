// Reruns the native-vs-js comparison with each instruction set forced (HSM_ISA),
// so the AVX2 and portable builds of every kernel are tested on an AVX-512 machine too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeBackend } from '../src/backend/index.js';

const suite = fileURLToPath(new URL('./native-vs-js.test.js', import.meta.url));
const skip = nativeBackend() ? false : 'native addon not available';

for (const isa of ['avx2', 'generic']) {
  test(`native kernels on ${isa} equal js`, { skip }, () => {
    // Drop the runner's NODE_TEST_CONTEXT so the child runs as a fresh test process.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', suite], {
      env: { ...env, HSM_ISA: isa },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, `HSM_ISA=${isa} failed:\n${run.stdout}\n${run.stderr}`);
    const passed = Number(/# pass (\d+)/.exec(run.stdout)?.[1] ?? 0);
    assert.ok(
      passed >= 7,
      `HSM_ISA=${isa}: expected the whole suite to pass, saw ${passed} passing tests:\n${run.stdout}`,
    );
  });
}
