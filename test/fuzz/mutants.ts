// Mutants of a run folder: generateMutants (families in turn), readRunFiles and materialize, which read and write it.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFamilies } from './config-mutations.js';
import { metricsFamily } from './metrics-mutations.js';
import { safetensorsFamilies } from './safetensors-mutations.js';
import { stagedFamily } from './staged-mutations.js';
import {
  CONFIG,
  METRICS,
  MODEL,
  OPTIMIZER,
  type Candidate,
  type FuzzCommand,
  type Mutant,
  type RunFiles,
} from './types.js';

const ALL: FuzzCommand[] = ['eval', 'generate', 'train'];

/** Which commands read each file. */
function readersOf(family: string): FuzzCommand[] {
  if (family.startsWith('model:') || family.startsWith('config:')) return ALL;
  return ['train'];
}

/**
 * `n` mutants of a run folder, deterministic in `seed`. Families take turns (some more than one slot
 * per turn), each in its own shuffled order, so every family is covered whatever `n` is.
 */
export function generateMutants(files: RunFiles, seed: number, n: number): Mutant[] {
  const families: Record<string, Candidate[]> = {
    ...safetensorsFamilies(MODEL, files[MODEL], seed),
    ...safetensorsFamilies(OPTIMIZER, files[OPTIMIZER], seed),
    staged: stagedFamily(files, seed),
    ...configFamilies(files, seed),
    metrics: metricsFamily(files, seed),
  };
  const weight: Record<string, number> = {
    'config:train': 4,
    'config:model': 2,
    'config:consistent': 2,
    'model:metadata': 2,
    'optimizer:metadata': 3,
  };
  const names = Object.keys(families);
  const next = Object.fromEntries(names.map((f) => [f, 0]));
  const out: Mutant[] = [];
  while (out.length < n) {
    let added = false;
    for (const family of names) {
      for (let k = 0; k < (weight[family] ?? 1) && out.length < n; k++) {
        const c = families[family][next[family]];
        if (!c) break;
        out.push({
          id: `${family}#${next[family]}`,
          family,
          description: c.description,
          files: c.make(),
          expect: c.expect ?? 'damage',
          reads: readersOf(family),
        });
        next[family]++;
        added = true;
      }
    }
    if (!added) break; // every family exhausted
  }
  return out;
}

export function readRunFiles(dir: string): RunFiles {
  return Object.fromEntries([CONFIG, MODEL, OPTIMIZER, METRICS].map((f) => [f, readFileSync(join(dir, f))]));
}

/** Writes the reference run folder with the mutant's edits into `dir` (replacing whatever is there). */
export function materialize(refDir: string, mutant: Mutant, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  cpSync(refDir, dir, { recursive: true });
  for (const [name, edit] of Object.entries(mutant.files)) {
    const path = join(dir, name);
    rmSync(path, { recursive: true, force: true });
    if (edit === 'dir') mkdirSync(path);
    else if (edit !== null) writeFileSync(path, edit);
  }
}
