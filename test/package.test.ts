// What `npm pack` puts in the package (package.json's "files"): every file hsm reads at run time,
// the sources the native addon is built from at install, and nothing else of size (no tests,
// fixtures, results or source maps). scripts/check-package.sh (CI) installs the tarball and runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { WASM_PATH } from '../src/backend/wasm-file.js';
import { SHAKESPEARE_FILE } from '../src/data/builtin-corpora.js';
import { projectRoot } from '../src/project-root.js';
import { pageSources } from '../src/serve/web-export.js';
import { PRESETS } from '../src/train/config.js';

const root = projectRoot();
/** The presets' committed reference runs, which hsm train compares a finished run with. */
const REFERENCE_RUNS = Object.values(PRESETS)
  .flatMap((p) => (p.reference ? [p.reference.baseline, ...(p.reference.own ? [p.reference.own] : [])] : []))
  .sort();

/** The files `npm pack` would put in the tarball now, and its size. */
function packList(): { files: string[]; size: number } {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const [pack] = JSON.parse(run.stdout) as { files: { path: string }[]; size: number }[];
  return { files: pack.files.map((f) => f.path), size: pack.size };
}

test('the package holds what hsm reads at run time and builds at install, and no tests, fixtures or maps', () => {
  const { files, size } = packList();
  const has = new Set(files);
  const rel = (path: string) => relative(root, path);
  const needed = [
    'package.json',
    'README.md',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/main.js',
    rel(WASM_PATH),
    `data/${SHAKESPEARE_FILE}`,
    'web/playground.html',
    'web/hsm.css',
    ...pageSources()
      .filter((s) => !s.optional)
      .map((s) => rel(s.from)),
    ...REFERENCE_RUNS,
    // The torch engine's Python package.
    ...readdirSync(join(root, 'python', 'hsm_torch'))
      .filter((f) => f.endsWith('.py'))
      .map((f) => `python/hsm_torch/${f}`),
    // The native addon is compiled at install: its build file, script and every source it names.
    'binding.gyp',
    'scripts/build-native.cjs',
    ...gypSources(),
  ];
  assert.deepEqual(
    needed.filter((f) => !has.has(f)),
    [],
    'files hsm needs that the package lacks',
  );
  const unwanted = files.filter(
    (f) =>
      /^(test|tools|src|prebuilt|dist\/test)\//.test(f) ||
      f.endsWith('.map') ||
      f.endsWith('.ts') !== f.endsWith('.d.ts'),
  );
  assert.deepEqual(unwanted, [], 'tests, fixtures, sources or source maps in the package');
  assert.deepEqual(
    files.filter((f) => f.startsWith('docs/')).sort(),
    REFERENCE_RUNS,
    'of docs/, only the reference runs',
  );
  assert.ok(size < 1_500_000, `the tarball is ${size} bytes`);
});

/** The sources binding.gyp compiles, and the headers under native/ they include. */
function gypSources(): string[] {
  const gyp = JSON.parse(
    readFileSync(join(root, 'binding.gyp'), 'utf8')
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .join('\n'),
  ) as { targets: { sources?: string[] }[] };
  const headers = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? headers(`${dir}/${e.name}`) : e.name.endsWith('.h') ? [`${dir}/${e.name}`] : [],
    );
  return [...new Set([...gyp.targets.flatMap((t) => t.sources ?? []), ...headers('native')])];
}
