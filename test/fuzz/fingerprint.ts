// What an accepted command produced, reduced to what must not change, for comparison with the reference run's.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from './json.js';
import type { RunResult } from './run-cli.js';
import { METRICS, MODEL, type FuzzCommand } from './types.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What an accepted command produced, reduced to what must not change: compared with the reference's. */
export function fingerprint(command: FuzzCommand, res: RunResult, runDir: string): string {
  if (command === 'generate') return res.stdout;
  if (command === 'eval') {
    try {
      const { ckpt: _, ...rest } = JSON.parse(res.stdout) as Json;
      return JSON.stringify(rest);
    } catch {
      return res.stdout;
    }
  }
  let summary: unknown = res.stdout;
  try {
    const { out: _, ...rest } = JSON.parse(res.stdout) as Json;
    summary = rest;
  } catch {
    // keep the raw text
  }
  const read = (name: string) => {
    try {
      return readFileSync(join(runDir, name));
    } catch {
      return Buffer.alloc(0);
    }
  };
  const metrics = read(METRICS)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        const { step, train_loss, val_loss, lr, grad_norm } = JSON.parse(l) as Json;
        return JSON.stringify([step, train_loss, val_loss, lr, grad_norm]);
      } catch {
        return l;
      }
    });
  return JSON.stringify({ summary, model: sha(read(MODEL)), metrics });
}
