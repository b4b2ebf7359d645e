// The optional toolchains some tests need, and what a test does without one.
// Each check returns false (run the test) or the one-line reason it is skipped,
// naming what to install. Where CI asks for a toolchain (HSM_REQUIRE_TORCH,
// HSM_REQUIRE_WASM, HSM_REQUIRE_CHROMIUM or HSM_REQUIRE_NATIVE set to 1, as
// .ci/run does), a missing one throws instead, so the test file fails.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { nativeBackend, wasmBackend } from '../src/backend/index.js';
import { nativeLoadError } from '../src/backend/native.js';
import { wasmLoadError } from '../src/backend/wasm-file.js';

type Toolchain = 'TORCH' | 'WASM' | 'CHROMIUM' | 'NATIVE';

/** false, or the skip reason; throws where HSM_REQUIRE_<toolchain>=1. */
function verdict(toolchain: Toolchain, reason: string | null): false | string {
  if (reason === null) return false;
  const flag = `HSM_REQUIRE_${toolchain}`;
  if (process.env[flag] === '1') throw new Error(`${flag}=1 but ${reason}`);
  return reason;
}

const cache = new Map<string, false | string>();
const once = (key: string, check: () => false | string) => {
  if (!cache.has(key)) cache.set(key, check());
  return cache.get(key)!;
};

let python: string | null | undefined;
/** The interpreter that imports torch (HSM_PYTHON, else python3 on PATH, then /usr/bin/python3), or null. */
export function torchPython(): string | null {
  if (python === undefined) {
    const candidates = process.env.HSM_PYTHON ? [process.env.HSM_PYTHON] : ['python3', '/usr/bin/python3'];
    python = candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { timeout: 60_000 }).status === 0) ?? null;
  }
  return python;
}

/** The PyTorch tests: an interpreter with torch. */
export function torchMissing(): false | string {
  return once('torch', () => {
    if (torchPython()) return false;
    const tried = process.env.HSM_PYTHON ? `HSM_PYTHON=${process.env.HSM_PYTHON}` : 'python3, /usr/bin/python3';
    return verdict('TORCH', `no Python with torch (tried ${tried}); apt-get install python3-torch to run it`);
  });
}

/** The WebAssembly backend's tests: dist/wasm/hsm.wasm (built by clang, or the prebuilt module copied by npm run build). */
export function wasmMissing(): false | string {
  return once('wasm', () =>
    verdict(
      'WASM',
      wasmBackend()
        ? null
        : `no WebAssembly module (${wasmLoadError()}, copying prebuilt/hsm.wasm or building with clang-14: apt-get install clang-14 lld-14 wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32)`,
    ),
  );
}

/** The native addon's tests: build/Release/hsm_native.node, built by npm install. */
export function nativeMissing(): false | string {
  return once('native', () =>
    verdict(
      'NATIVE',
      nativeBackend() ? null : `no native addon (${nativeLoadError()}); install them, then run npm rebuild`,
    ),
  );
}

/** The Chromium that the browser tests drive: HSM_CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.HSM_CHROMIUM ?? '/usr/bin/chromium';

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The browser tests: a Chromium binary we may run. */
export function chromiumMissing(): false | string {
  return once('chromium', () =>
    verdict(
      'CHROMIUM',
      executable(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}; apt-get install chromium (or set HSM_CHROMIUM)`,
    ),
  );
}

/** The first reason of several, so a test that needs two toolchains names the first one missing. */
export function firstMissing(...reasons: (false | string)[]): false | string {
  return reasons.find((r) => r !== false) ?? false;
}
