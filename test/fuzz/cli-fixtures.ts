// The files and folders the invalid command lines point at (a corpus, a run, bad configs, grids): makeCliFixtures.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from './json.js';
import { MODEL } from './types.js';

/** Files and folders the command lines point at; `makeCliFixtures` creates them. */
export interface CliFixtures {
  /** A small text corpus. */
  data: string;
  /** A complete run folder, only read (eval, generate, info). */
  run: string;
  regularFile: string;
  emptyFile: string;
  emptyDir: string;
  binaryFile: string;
  shortFile: string;
  txtDir: string;
  notJson: string;
  jsonArray: string;
  configUnknownKey: string;
  configWrongType: string;
  configValid: string;
  gridValid: string;
  gridEmpty: string;
  gridNoModels: string;
  gridBadPlan: string;
}

export function makeCliFixtures(root: string, refDir: string, corpus: string): CliFixtures {
  mkdirSync(root, { recursive: true });
  const f = (name: string, content: string | Buffer) => {
    const path = join(root, name);
    writeFileSync(path, content);
    return path;
  };
  const d = (name: string) => {
    const path = join(root, name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const data = f('small.txt', readFileSync(corpus, 'utf8').slice(0, 40_000));
  const run = join(root, 'run');
  rmSync(run, { recursive: true, force: true });
  cpSync(refDir, run, { recursive: true });
  const txtDir = d('txt-dir');
  writeFileSync(join(txtDir, 'a.txt'), readFileSync(data, 'utf8'));
  const tinyGrid = (models: unknown, extra: Json = {}) =>
    JSON.stringify({
      train: {
        data,
        maxIters: 1,
        evalIters: 1,
        evalInterval: 1,
        batchSize: 2,
        model: { nEmbd: 8, nHead: 1, blockSize: 8 },
      },
      models,
      seeds: [1],
      eval: { sampleTokens: 1, decodeRepeats: 1, decodePositions: [4] },
      ...extra,
    });
  return {
    data,
    run,
    regularFile: f('regular-file', 'x\n'),
    emptyFile: f('empty.txt', ''),
    emptyDir: d('empty-dir'),
    binaryFile: f('binary.txt', readFileSync(join(refDir, MODEL))),
    shortFile: f('short.txt', 'ab\n'),
    txtDir,
    notJson: f('not.json', '{"lr": '),
    jsonArray: f('array.json', '[1, 2]'),
    configUnknownKey: f('unknown-key.json', '{"nope": 1}'),
    configWrongType: f('wrong-type.json', '{"lr": "fast"}'),
    configValid: f('valid.json', '{"lr": 0.01}'),
    gridValid: f('grid.json', tinyGrid([{ name: 'a', plan: 'attn' }])),
    gridEmpty: f('grid-empty.json', '{}'),
    gridNoModels: f('grid-no-models.json', tinyGrid([])),
    gridBadPlan: f('grid-bad-plan.json', tinyGrid([{ name: 'a', plan: 'hsm:nope' }])),
  };
}
