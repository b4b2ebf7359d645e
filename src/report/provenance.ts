// Where a benchmark result came from: the command, the commit and the machine, recorded beside the numbers.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export function runProvenance(): Record<string, unknown> {
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return {
    command: ['hsm', ...process.argv.slice(2)].join(' '),
    commit: git.status === 0 ? git.stdout.trim() : null,
    uncommitted_changes: dirty.status === 0 ? dirty.stdout.trim().length > 0 : null,
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
  };
}
