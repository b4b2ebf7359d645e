// Builds the WebAssembly backend (dist/wasm/hsm.wasm) from the same kernel
// sources as the native addon, with Debian's clang and wasm-ld (packages
// clang-14, lld-14, wasi-libc, libc++-14-dev-wasm32, libc++abi-14-dev-wasm32).
// The module links wasi-libc's allocator and libm statically and imports
// nothing, so a page instantiates it with an empty import object.
//
// clang-14's output is byte-for-byte reproducible (same bytes from any checkout
// path), so the repository carries the built module, prebuilt/hsm.wasm, with
// prebuilt/hsm.wasm.json naming the sources it was built from. Where clang is
// missing, that module is copied instead, if it was built from the sources here.
//   node scripts/build-wasm.cjs                    build (or copy the prebuilt module)
//   node scripts/build-wasm.cjs --check-prebuilt   CI: a fresh build must equal prebuilt/hsm.wasm
//   node scripts/build-wasm.cjs --update-prebuilt  after changing native/: rebuild prebuilt/
// Without clang and a usable prebuilt module the wasm backend is unavailable and
// says so, unless HSM_REQUIRE_WASM=1 (CI), where that fails the build.
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist', 'wasm', 'hsm.wasm');
const prebuilt = path.join(root, 'prebuilt', 'hsm.wasm');
const stampFile = path.join(root, 'prebuilt', 'hsm.wasm.json');
const mode = process.argv[2] ?? 'build';
if (!['build', '--check-prebuilt', '--update-prebuilt'].includes(mode)) {
  console.error(`hsm: unknown argument ${mode}; use --check-prebuilt or --update-prebuilt, or nothing`);
  process.exit(2);
}

// The kernel sources are binding.gyp's (its first target's list), so a new kernel file is added in one place.
const gyp = JSON.parse(
  fs
    .readFileSync(path.join(root, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n'),
);
const sources = [...gyp.targets[0].sources, 'native/wasm/serial_pool.cc', 'native/wasm/exports.cc'];
const flags = [
  '--target=wasm32-wasi',
  '--sysroot=/usr', // Debian installs the wasm32-wasi headers and libraries under /usr/{include,lib}/wasm32-wasi
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

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** What the module is built from: the flags, the sources and every header under native/, by content. */
function inputsDigest() {
  const headers = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.h')) headers.push(rel);
    }
  };
  walk('native');
  const files = [...new Set([...sources, ...headers])].sort();
  return sha256(JSON.stringify({ flags, files: files.map((f) => [f, sha256(fs.readFileSync(path.join(root, f)))]) }));
}

const clang = ['clang++-14', 'clang++'].find((c) => spawnSync(c, ['--version']).status === 0);
const toolchainMissing = !clang
  ? 'clang++ not found'
  : !fs.existsSync('/usr/lib/wasm32-wasi/libc.a')
    ? 'wasi-libc not installed'
    : null;
const INSTALL = 'apt-get install clang-14 lld-14 wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32';

function fail(message) {
  console.error(`hsm: ${message}`);
  process.exit(1);
}

/** Compiles the module into `file`. */
function compile(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const result = spawnSync(clang, [...flags, '-o', file, ...sources], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail('building the WebAssembly backend failed');
}

/** A fresh build in a temporary folder (never the up-to-date shortcut), for the prebuilt module's checks. */
function freshBuild() {
  if (toolchainMissing) fail(`${mode} needs the wasm toolchain (${toolchainMissing}; ${INSTALL})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hsm-wasm-'));
  try {
    compile(path.join(dir, 'hsm.wasm'));
    return fs.readFileSync(path.join(dir, 'hsm.wasm'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** prebuilt/hsm.wasm.json, or null when it is missing or unreadable. */
function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    return null;
  }
}

const UPDATE = 'run node scripts/build-wasm.cjs --update-prebuilt (clang-14) and commit prebuilt/';

if (mode === '--update-prebuilt') {
  const built = freshBuild();
  fs.mkdirSync(path.dirname(prebuilt), { recursive: true });
  fs.writeFileSync(prebuilt, built);
  const compiler = spawnSync(clang, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim();
  const stamp = { inputs_sha256: inputsDigest(), module_sha256: sha256(built), bytes: built.length, compiler };
  fs.writeFileSync(stampFile, JSON.stringify(stamp, null, 2) + '\n');
  console.log(`hsm: wrote prebuilt/hsm.wasm (${built.length} bytes, ${compiler})`);
  process.exit(0);
}

if (mode === '--check-prebuilt') {
  const built = freshBuild();
  const stamp = readStamp();
  if (!fs.existsSync(prebuilt) || !stamp) fail(`prebuilt/hsm.wasm or its .json is missing; ${UPDATE}`);
  if (!built.equals(fs.readFileSync(prebuilt)))
    fail(`a fresh build (sha256 ${sha256(built)}) differs from prebuilt/hsm.wasm; ${UPDATE}`);
  if (stamp.inputs_sha256 !== inputsDigest() || stamp.module_sha256 !== sha256(built))
    fail(`prebuilt/hsm.wasm.json does not describe these sources and that module; ${UPDATE}`);
  console.log(`hsm: prebuilt/hsm.wasm equals a fresh build, byte for byte (sha256 ${sha256(built)})`);
  process.exit(0);
}

// A plain build. Without the toolchain: the prebuilt module, if it was built from these sources.
if (toolchainMissing) {
  const stamp = readStamp();
  const usable = stamp && fs.existsSync(prebuilt) && stamp.inputs_sha256 === inputsDigest();
  if (usable) {
    const module = fs.readFileSync(prebuilt);
    if (sha256(module) !== stamp.module_sha256) fail('prebuilt/hsm.wasm does not match its recorded sha256');
    if (!fs.existsSync(out) || !fs.readFileSync(out).equals(module)) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, module);
      console.warn(`hsm: ${toolchainMissing}; using prebuilt/hsm.wasm, built by ${stamp.compiler} from these sources`);
    }
    process.exit(0);
  }
  const why = stamp
    ? 'prebuilt/hsm.wasm was built from other sources than native/ holds now'
    : 'prebuilt/hsm.wasm is missing';
  const message = `hsm: the WebAssembly backend was not built (${toolchainMissing}, and ${why}; ${INSTALL})`;
  if (process.env.HSM_REQUIRE_WASM === '1') fail(message.replace(/^hsm: /, ''));
  console.warn(message);
  process.exit(0);
}

// Up to date: nothing under native/ is newer than the module (npm test builds before every run).
const newest = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce(
      (t, e) =>
        Math.max(t, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs),
      0,
    );
if (
  !fs.existsSync(out) ||
  fs.statSync(out).mtimeMs <= Math.max(newest(path.join(root, 'native')), fs.statSync(__filename).mtimeMs)
) {
  compile(out);
}
const stamp = readStamp();
if (stamp && stamp.inputs_sha256 !== inputsDigest())
  console.warn(`hsm: native/ changed since prebuilt/hsm.wasm was built; ${UPDATE}`);
