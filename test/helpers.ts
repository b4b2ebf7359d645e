// What many test files share: the CLI runner, temporary folders, and where the
// corpus and the committed fixtures are. Paths come from the project root, so
// the tests need nothing outside the repository.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../src/project-root.js';

/** The compiled CLI: a test runs `node CLI args…` as a user runs `hsm args…`. */
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Tiny Shakespeare as the repository ships it (data/), whatever HSM_DATA_DIR says. */
export const SHAKESPEARE = join(projectRoot(), 'data', 'tinyshakespeare.txt');

/** A committed PyTorch reference fixture (tools/fixtures/NAME.safetensors, written by tools/torch_reference.py). */
export function torchFixture(name: string): string {
  return join(projectRoot(), 'tools', 'fixtures', `${name}.safetensors`);
}

let shakespeareText: string | undefined;
/** The first `chars` characters of Tiny Shakespeare (all of it without `chars`). */
export function shakespeare(chars?: number): string {
  shakespeareText ??= readFileSync(SHAKESPEARE, 'utf8');
  return chars === undefined ? shakespeareText : shakespeareText.slice(0, chars);
}

/** A small corpus file in `dir` (small.txt): the first `chars` characters of Tiny Shakespeare. */
export function smallCorpus(dir: string, chars = 40_000): string {
  const path = join(dir, 'small.txt');
  writeFileSync(path, shakespeare(chars));
  return path;
}

/** A fresh folder under the system's temporary folder, named hsm-NAME-…. */
export function tmp(name: string): string {
  return mkdtempSync(join(tmpdir(), `hsm-${name}-`));
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Variables added to (or, when undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  /** A hang is a failure: the child is killed after this long (default 10 min). */
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `hsm args…` to completion. */
export function cli(args: string[], opts: CliOptions = {}): CliResult {
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 600_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit code 2 and one line on stderr, `hsm: …`, matching `pattern`. */
export function assertUserError(r: CliResult, pattern: RegExp, what = 'the command'): void {
  assert.equal(
    r.status,
    2,
    `exit code 2 expected for ${what}, got ${r.status}${r.signal ? ` (${r.signal})` : ''}\n${r.stderr}`,
  );
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line of error expected for ${what}, got:\n${r.stderr}`);
  assert.match(lines[0], /^hsm: /);
  assert.match(lines[0], pattern);
}

/** Runs `hsm args…` expecting a one-line user error matching `pattern`. */
export function expectUserError(args: string[], pattern: RegExp): void {
  assertUserError(cli(args), pattern, args.join(' '));
}
