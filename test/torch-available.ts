// Whether the PyTorch tests can run: they need an interpreter that imports torch
// (Debian's python3-torch, which .ci/run installs). Where HSM_REQUIRE_TORCH=1
// (CI) a missing torch fails the tests instead of skipping them.
import { spawnSync } from 'node:child_process';

/** false when torch is importable (run the tests), else the reason to skip them. */
export function torchAvailable(): false | string {
  const candidates = process.env.HSM_PYTHON ? [process.env.HSM_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import torch'], { timeout: 60_000 }).status === 0) return false;
  }
  const reason = `no Python with torch (tried ${candidates.join(', ')}); install it with apt-get install python3-torch`;
  if (process.env.HSM_REQUIRE_TORCH === '1') throw new Error(`HSM_REQUIRE_TORCH=1 but ${reason}`);
  return reason;
}
