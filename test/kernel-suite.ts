// Runs test/native-vs-js.test.ts (every kernel against the js reference) in a
// child process under other settings, and checks that all of its tests ran and
// passed: a suite where some tests were skipped or never registered fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SUITE = fileURLToPath(new URL('./native-vs-js.test.js', import.meta.url));
/** The tests in native-vs-js.test.ts: a test added there is added here too. */
export const KERNEL_SUITE_TESTS = 14;

/** Runs the kernel suite with `env` added; asserts every one of its KERNEL_SUITE_TESTS tests passed. */
export function assertKernelSuitePasses(env: Record<string, string>, what: string): void {
  // Drop the runner's NODE_TEST_CONTEXT so the child runs as a fresh test process.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', SUITE], {
    env: { ...inherited, ...env },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, `${what} failed:\n${run.stdout}\n${run.stderr}`);
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? NaN);
  const counts = Object.fromEntries(
    ['tests', 'pass', 'fail', 'skipped', 'todo', 'cancelled'].map((n) => [n, count(n)]),
  );
  assert.deepEqual(
    counts,
    { tests: KERNEL_SUITE_TESTS, pass: KERNEL_SUITE_TESTS, fail: 0, skipped: 0, todo: 0, cancelled: 0 },
    `${what}: all ${KERNEL_SUITE_TESTS} tests of the kernel suite run and pass (a test added there is counted in test/kernel-suite.ts):\n${run.stdout}`,
  );
}
