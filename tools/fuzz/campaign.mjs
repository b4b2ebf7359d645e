#!/usr/bin/env node
// Bad-input campaign: how does `hsm` answer damaged run folders and invalid command lines?
//
//   npm run build && node tools/fuzz/campaign.mjs [--out DIR] [--files N] [--seed S] [options]
//
// Trains a tiny reference run, writes N mutated copies of it (deterministic in the seed; the mutation
// generators live in test/fuzz/, compiled to dist/test/fuzz/), runs `hsm eval`,
// `hsm train --resume` and, for every K-th mutant, `hsm generate` on each, then a table of invalid
// command lines over every command. Each outcome is classified (see classify() in test/fuzz/classify.ts):
// the goal is `ok-error` (exit 2, one stderr line starting "hsm: ") or an acceptance that changed
// nothing; never a stack trace, a hang, a multi-line error or a damaged file silently accepted.
// Writes DIR/cases.jsonl (one line per case) and DIR/summary.json, prints the summary to stdout and
// progress to stderr. Mutants that ended non-ok are kept, undamaged by the run, under DIR/keep/.
//
// Options:
//   --out DIR            output folder (default /tmp/hsm-fuzz-<seed>); its ref/, mut/, keep/, cli/ are replaced
//   --files N            mutants (default 400)
//   --seed S             seed of the mutations (default 1)
//   --timeout S          seconds per command before it counts as a hang (default 60)
//   --generate-every K   also run `hsm generate` on every K-th mutant (default 4)
//   --cli PATH           the CLI to test (default dist/src/cli/main.js of this checkout)
//   --snapshot           copy dist/src to DIR/snap first and test that copy (a rebuild meanwhile cannot mix versions)
//   --data PATH          corpus of the reference run (default data/tinyshakespeare.txt)
//   --only SUBSTR        only cases whose id or family contains SUBSTR (e.g. "config:train#3")
//   --no-mutants, --no-cli   skip one half
//   --as-limit BYTES     address-space cap per command (default 6 GiB; 0 = none)
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv) {
  const o = {
    out: null,
    files: 400,
    seed: 1,
    timeout: 60,
    generateEvery: 4,
    cli: join(REPO, 'dist/src/cli/main.js'),
    snapshot: false,
    data: resolve(REPO, 'data/tinyshakespeare.txt'),
    only: null,
    mutants: true,
    lines: true,
    asLimit: 6 * 1024 ** 3,
  };
  const need = (i) => {
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  const int = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got "${v}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = resolve(need(i++));
    else if (a === '--files') o.files = int(a, need(i++));
    else if (a === '--seed') o.seed = int(a, need(i++));
    else if (a === '--timeout') o.timeout = int(a, need(i++));
    else if (a === '--generate-every') o.generateEvery = Math.max(1, int(a, need(i++)));
    else if (a === '--cli') o.cli = resolve(need(i++));
    else if (a === '--snapshot') o.snapshot = true;
    else if (a === '--data') o.data = resolve(need(i++));
    else if (a === '--only') o.only = need(i++);
    else if (a === '--no-mutants') o.mutants = false;
    else if (a === '--no-cli') o.lines = false;
    else if (a === '--as-limit') o.asLimit = int(a, need(i++));
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node tools/fuzz/campaign.mjs [--out DIR] [--files N] [--seed S] [--timeout S] [--generate-every K] [--cli PATH] [--snapshot] [--data PATH] [--only SUBSTR] [--no-mutants] [--no-cli] [--as-limit BYTES]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  o.out ??= `/tmp/hsm-fuzz-${o.seed}`;
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`campaign: ${err.message}`);
  process.exit(2);
}

// The fuzz library, compiled from test/fuzz/*.ts.
const load = async (name) => {
  const path = join(REPO, 'dist/test/fuzz', `${name}.js`);
  if (!existsSync(path)) {
    console.error(`campaign: ${path} is missing; run \`npm run build\` first`);
    process.exit(2);
  }
  return import(pathToFileURL(path).href);
};
const { instantiate, mutantArgs, referenceTrainArgs } = await load('args');
const { OK_CLASSES, classify, repairedLog, stderrLines } = await load('classify');
const { cliCases } = await load('cli-cases');
const { makeCliFixtures } = await load('cli-fixtures');
const { fingerprint } = await load('fingerprint');
const { generateMutants, materialize, readRunFiles } = await load('mutants');
const { runCli } = await load('run-cli');

const OUT = opts.out;
mkdirSync(OUT, { recursive: true });
for (const d of ['ref', 'ref-resume', 'mut', 'keep', 'cli', 'snap'])
  rmSync(join(OUT, d), { recursive: true, force: true });
const casesPath = join(OUT, 'cases.jsonl');
writeFileSync(casesPath, '');

// The CLI under test: this checkout's build, or a frozen copy of it.
let CLI = opts.cli;
if (opts.snapshot) {
  const snap = join(OUT, 'snap');
  mkdirSync(join(snap, 'dist'), { recursive: true });
  cpSync(join(REPO, 'dist/src'), join(snap, 'dist/src'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(snap, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(snap, 'node_modules'));
  if (existsSync(join(REPO, 'build'))) symlinkSync(join(REPO, 'build'), join(snap, 'build'));
  // projectRoot()/data holds the named corpora.
  symlinkSync(join(REPO, 'data'), join(snap, 'data'));
  CLI = join(snap, 'dist/src/cli/main.js');
}
if (!existsSync(CLI)) {
  console.error(`campaign: the CLI ${CLI} does not exist; run \`npm run build\` first`);
  process.exit(2);
}

const timeoutMs = opts.timeout * 1000;
const rssFile = join(OUT, 'rss.txt');
const run = (args) =>
  runCli(CLI, args, { timeoutMs, cwd: REPO, rssFile, addressSpaceBytes: opts.asLimit || undefined });
const t0 = performance.now();
const log = (s) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
const cmdline = (args) =>
  `HSM_THREADS=1 node ${CLI} ${args.map((a) => (/^[\w./:=,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')}`;

// ------------------------------------------------------------------ the reference run
const REF = join(OUT, 'ref');
log(`reference run in ${REF} (CLI ${CLI})`);
const trained = await run(referenceTrainArgs(opts.data, REF));
if (trained.code !== 0) {
  console.error(`campaign: the reference run failed (exit ${trained.code}):\n${trained.stderr}`);
  process.exit(1);
}
const reference = {};
for (const command of ['eval', 'generate']) {
  const r = await run(mutantArgs(command, REF));
  if (r.code !== 0) {
    console.error(`campaign: reference ${command} failed:\n${r.stderr}`);
    process.exit(1);
  }
  reference[command] = fingerprint(command, r, REF);
}
{
  const dir = join(OUT, 'ref-resume');
  cpSync(REF, dir, { recursive: true });
  const r = await run(mutantArgs('train', dir));
  if (r.code !== 0) {
    console.error(`campaign: reference resume failed:\n${r.stderr}`);
    process.exit(1);
  }
  reference.train = fingerprint('train', r, dir);
}
writeFileSync(join(OUT, 'reference.json'), JSON.stringify(reference, null, 2) + '\n');
log(`reference eval: ${reference.eval}`);

const records = [];
function record(rec) {
  records.push(rec);
  appendFileSync(casesPath, JSON.stringify(rec) + '\n');
}
const firstLine = (s) => stderrLines(s)[0] ?? '';
const matches = (id, family) => !opts.only || id.includes(opts.only) || family.includes(opts.only);

// ------------------------------------------------------------------ mutated run folders
if (opts.mutants) {
  const mutants = generateMutants(readRunFiles(REF), opts.seed, opts.files).filter((m) => matches(m.id, m.family));
  log(`${mutants.length} mutants`);
  const dir = join(OUT, 'mut', 'current');
  for (const [i, m] of mutants.entries()) {
    materialize(REF, m, dir);
    const commands = i % opts.generateEvery === 0 ? ['eval', 'generate', 'train'] : ['eval', 'train'];
    let kept = null;
    for (const command of commands) {
      const args = mutantArgs(command, dir);
      const r = await run(args);
      const reads = m.reads.includes(command);
      const same = r.code === 0 && fingerprint(command, r, dir) === reference[command];
      const cls = classify(r, {
        kind: 'mutant',
        expect: reads ? m.expect : 'damage',
        same,
        repairedLog: repairedLog(m, r),
      });
      const rec = {
        kind: 'mutant',
        family: m.family,
        id: m.id,
        mutation: m.description,
        expect: reads ? m.expect : 'damage',
        command,
        same_as_reference: same,
        class: cls,
        exit: r.code,
        signal: r.signal,
        wall_ms: Math.round(r.wallMs),
        max_rss_kb: r.maxRssKb,
        stderr_lines: stderrLines(r.stderr).length,
        stderr_first: firstLine(r.stderr),
      };
      if (cls === 'stack-trace' || cls === 'other') rec.stderr_tail = r.stderr.slice(-1500);
      if (!OK_CLASSES.has(cls)) {
        // Keep the mutant as generated (train --resume may have changed the working copy).
        kept ??= join(OUT, 'keep', m.id.replace(/[^\w.-]+/g, '_'));
        if (!existsSync(kept)) materialize(REF, m, kept);
        rec.kept = kept;
        rec.repro =
          command === 'train'
            ? `rm -rf /tmp/hsm-repro && cp -r ${kept} /tmp/hsm-repro && ${cmdline(mutantArgs('train', '/tmp/hsm-repro'))}`
            : cmdline(mutantArgs(command, kept));
      }
      record(rec);
    }
    if ((i + 1) % 25 === 0 || i + 1 === mutants.length) {
      const bad = records.filter((r) => r.kind === 'mutant' && !OK_CLASSES.has(r.class)).length;
      log(`mutants ${i + 1}/${mutants.length}, ${bad} non-ok results so far`);
    }
  }
  rmSync(join(OUT, 'mut'), { recursive: true, force: true });
}

// ------------------------------------------------------------------ invalid command lines
if (opts.lines) {
  const fx = makeCliFixtures(join(OUT, 'cli'), REF, opts.data);
  const cases = cliCases(fx).filter((c) => matches(c.id, c.family));
  log(`${cases.length} command lines`);
  for (const [i, c] of cases.entries()) {
    const scratch = join(OUT, 'cli', 'scratch');
    const args = instantiate(c.args, scratch, REF);
    const r = await run(args);
    const cls = classify(r, { kind: 'line', expect: c.expect });
    const rec = {
      kind: 'line',
      family: c.family,
      id: c.id,
      expect: c.expect,
      note: c.note,
      command: cmdline(args),
      class: cls,
      exit: r.code,
      signal: r.signal,
      wall_ms: Math.round(r.wallMs),
      max_rss_kb: r.maxRssKb,
      stderr_lines: stderrLines(r.stderr).length,
      stderr_first: firstLine(r.stderr),
    };
    if (c.args.includes('{{run}}')) rec.repro_note = `${scratch} was a fresh copy of ${REF}`;
    if (cls === 'stack-trace' || cls === 'other' || cls === 'multi-line-error') rec.stderr_tail = r.stderr.slice(-1500);
    record(rec);
    rmSync(scratch, { recursive: true, force: true });
    if ((i + 1) % 50 === 0 || i + 1 === cases.length) log(`command lines ${i + 1}/${cases.length}`);
  }
}

// ------------------------------------------------------------------ summary
const count = (rs, key) => {
  const out = {};
  for (const r of rs) out[r[key]] = (out[r[key]] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
};
const perFamily = {};
for (const r of records) {
  const f = `${r.kind === 'mutant' ? 'file' : 'line'} ${r.family}`;
  (perFamily[f] ??= {})[r.class] = (perFamily[f][r.class] ?? 0) + 1;
}
const nonOk = records.filter((r) => !OK_CLASSES.has(r.class));
const summary = {
  cli: CLI,
  seed: opts.seed,
  seconds: Math.round((performance.now() - t0) / 1000),
  cases: records.length,
  mutant_commands: records.filter((r) => r.kind === 'mutant').length,
  command_lines: records.filter((r) => r.kind === 'line').length,
  per_class: count(records, 'class'),
  per_class_mutants: count(
    records.filter((r) => r.kind === 'mutant'),
    'class',
  ),
  per_class_lines: count(
    records.filter((r) => r.kind === 'line'),
    'class',
  ),
  per_family: perFamily,
  non_ok: nonOk.length,
};
writeFileSync(join(OUT, 'summary.json'), JSON.stringify({ ...summary, non_ok_cases: nonOk }, null, 2) + '\n');

console.log(`hsm bad-input campaign: ${records.length} cases in ${summary.seconds}s (CLI ${CLI}, seed ${opts.seed})`);
console.log(`\nper class (all):`);
for (const [k, v] of Object.entries(summary.per_class)) console.log(`  ${String(v).padStart(5)}  ${k}`);
console.log(`per class: mutants ${JSON.stringify(summary.per_class_mutants)}`);
console.log(`per class: command lines ${JSON.stringify(summary.per_class_lines)}`);
console.log(`\nper family:`);
for (const [f, cs] of Object.entries(perFamily).sort()) {
  const line = Object.entries(cs)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`  ${f.padEnd(36)} ${line}`);
}
console.log(`\nnon-ok cases (${nonOk.length}):`);
for (const r of nonOk) {
  const what =
    r.kind === 'mutant' ? `${r.command} on ${r.id}: ${r.mutation}` : `${r.id}${r.note ? ` (${r.note})` : ''}`;
  console.log(`- [${r.class}] ${what}`);
  console.log(
    `    exit ${r.exit}${r.signal ? ` ${r.signal}` : ''}, ${r.wall_ms} ms, rss ${r.max_rss_kb ?? '?'} KiB, stderr: ${r.stderr_first.slice(0, 300)}`,
  );
  console.log(`    repro: ${r.kind === 'mutant' ? r.repro : r.command}`);
}
console.log(`\nwrote ${casesPath} and ${join(OUT, 'summary.json')}`);
