// Where a benchmark result came from: the command, the commit and the machine, recorded beside the numbers.
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { projectRoot } from '../project-root.js';

/** What decides the numbers: code, not results or docs. */
const CODE_PATHS = ['src', 'native', 'tools', 'binding.gyp', 'package.json', 'package-lock.json'];

export function runProvenance(): Record<string, unknown> {
  const cwd = projectRoot(); // this package's repository, wherever hsm was started from
  // An installed package (node_modules/hsm) has no repository of its own: the one git finds above it is not ours.
  const top = spawnSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8', cwd });
  const ours = top.status === 0 && realpathSync(top.stdout.trim()) === realpathSync(cwd);
  const git = ours ? spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', cwd }) : null;
  const dirty = ours
    ? spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ...CODE_PATHS], {
        encoding: 'utf8',
        cwd,
      })
    : null;
  return {
    command: ['hsm', ...process.argv.slice(2)].join(' '),
    version: (JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { version?: string }).version ?? null,
    commit: git?.status === 0 ? git.stdout.trim() : null,
    uncommitted_code_changes: dirty?.status === 0 ? dirty.stdout.trim().length > 0 : null,
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
  };
}
