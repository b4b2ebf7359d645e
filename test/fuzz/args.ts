// Command lines: the reference training run, the check of a mutant folder per command, and placeholder instantiation.
import { cpSync, rmSync } from 'node:fs';
import type { FuzzCommand } from './types.js';

/** The command line that checks a mutant (or the reference) folder with each command. */
export function mutantArgs(command: FuzzCommand, dir: string): string[] {
  if (command === 'eval') return ['eval', '--ckpt', dir];
  if (command === 'generate') return ['generate', '--ckpt', dir, '--max-tokens', '5'];
  return ['train', '--resume', '--out', dir, '--max-iters', '25'];
}

/** The training command of the reference run (a checkpoint at steps 10 and 20). */
export function referenceTrainArgs(data: string, out: string): string[] {
  return [
    'train',
    '--data',
    data,
    '--n-layer',
    '2',
    '--n-head',
    '2',
    '--n-embd',
    '32',
    '--context',
    '32',
    '--batch-size',
    '4',
    '--max-iters',
    '20',
    '--eval-interval',
    '10',
    '--eval-iters',
    '2',
    '--checkpoint-interval',
    '10',
    '--out',
    out,
  ];
}

/** Replaces `{{out}}` by a fresh folder path and `{{run}}` by a fresh copy of the reference run. */
export function instantiate(args: string[], scratch: string, refDir: string): string[] {
  return args.map((a) => {
    if (a === '{{out}}') {
      rmSync(scratch, { recursive: true, force: true });
      return scratch;
    }
    if (a === '{{run}}') {
      rmSync(scratch, { recursive: true, force: true });
      cpSync(refDir, scratch, { recursive: true });
      return scratch;
    }
    return a;
  });
}
