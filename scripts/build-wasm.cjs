// Builds the WebAssembly backend (dist/wasm/hsm.wasm) from the same kernel
// sources as the native addon, with Debian's clang and wasm-ld (packages
// clang-14, lld-14, wasi-libc, libc++-14-dev-wasm32, libc++abi-14-dev-wasm32).
// The module links wasi-libc's allocator and libm statically and imports
// nothing, so a page instantiates it with an empty import object.
// Missing tools are not fatal (the wasm backend is then unavailable and says so),
// unless HSM_REQUIRE_WASM=1, as in CI.
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, readFileSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist', 'wasm', 'hsm.wasm');
// The kernel sources are binding.gyp's (its first target's list), so a new kernel file is added in one place.
const gyp = JSON.parse(
  readFileSync(path.join(root, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n'),
);
const sources = [...gyp.targets[0].sources, 'native/wasm/serial_pool.cc', 'native/wasm/exports.cc'];

const clang = ['clang++-14', 'clang++'].find((c) => spawnSync(c, ['--version']).status === 0);
const sysroot = '/usr'; // Debian installs the wasm32-wasi headers and libraries under /usr/{include,lib}/wasm32-wasi
if (!clang || !existsSync(path.join(sysroot, 'lib', 'wasm32-wasi', 'libc.a'))) {
  const why = !clang ? 'clang++ not found' : 'wasi-libc not installed';
  const message = `hsm: the WebAssembly backend was not built (${why}; apt-get install clang-14 lld-14 wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32)`;
  if (process.env.HSM_REQUIRE_WASM === '1') {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

// Up to date: nothing under native/ is newer than the module (npm test builds before every run).
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = path.join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
if (
  existsSync(out) &&
  statSync(out).mtimeMs > Math.max(newest(path.join(root, 'native')), statSync(__filename).mtimeMs)
) {
  process.exit(0);
}

mkdirSync(path.dirname(out), { recursive: true });
const flags = [
  '--target=wasm32-wasi',
  `--sysroot=${sysroot}`,
  '-std=c++17',
  '-O3',
  // SIMD128 and the post-MVP features every current browser and Node >= 16 has
  '-msimd128',
  '-mbulk-memory',
  '-mnontrapping-fptoint',
  '-msign-ext',
  // as binding.gyp: vectorize loops with clamps and sqrt, results stay IEEE (no -ffast-math)
  '-fno-exceptions',
  '-fno-rtti',
  '-fno-trapping-math',
  '-fno-math-errno',
  '-DHSM_ISA=wasm',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-Wno-unneeded-internal-declaration',
  // a library module (no main); export the function table the glue calls kernels through
  '-mexec-model=reactor',
  '-Wl,--export-table',
  '-Wl,--strip-all',
];
const result = spawnSync(clang, [...flags, '-o', out, ...sources], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('hsm: building the WebAssembly backend failed');
  process.exit(1);
}
