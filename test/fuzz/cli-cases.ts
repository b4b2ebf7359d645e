// The bad-input table of command lines: invalid (and a few valid) arguments for every command.
import { join } from 'node:path';
import type { CliFixtures } from './cli-fixtures.js';

export type LineExpectation = 'invalid' | 'valid' | 'any';

export interface CliCase {
  id: string;
  family: string;
  /** Arguments after the CLI; `{{out}}` becomes a fresh folder, `{{run}}` a fresh copy of the reference run. */
  args: string[];
  expect: LineExpectation;
  note?: string;
}

/**
 * The bad-input table: invalid command lines over every command, and a few valid ones beside them
 * (marked `valid`) so that the table also shows that the checks do not reject good input.
 */
export function cliCases(fx: CliFixtures): CliCase[] {
  const cases: CliCase[] = [];
  const add = (family: string, args: string[], expect: LineExpectation, note?: string) =>
    cases.push({ id: `${family}#${cases.filter((c) => c.family === family).length}`, family, args, expect, note });

  // train: a one-step tiny model, with one flag changed at a time.
  const trainBase: Record<string, string | null> = {
    data: fx.data,
    'n-layer': '1',
    'n-head': '1',
    'n-embd': '8',
    context: '8',
    'batch-size': '2',
    'max-iters': '1',
    'eval-iters': '1',
    'eval-interval': '1',
    out: '{{out}}',
  };
  const train = (over: Record<string, string | null>, extra: string[] = []) => {
    const flags = { ...trainBase, ...over };
    return ['train', ...Object.entries(flags).flatMap(([k, v]) => (v === null ? [] : [`--${k}`, v])), ...extra];
  };
  const numbers = ['0', '-1', '1.5', '1e12', 'NaN', 'abc', '', 'Infinity'];
  // flag → the values of `numbers` that are valid for it (1e12 is left out where it would legitimately run for hours).
  const numeric: [string, string[], string[]?][] = [
    ['max-iters', [], ['1e12']],
    ['batch-size', []],
    ['grad-accum', []],
    ['lr', ['1.5', '1e12']],
    ['min-lr', ['0', '1.5', '1e12']],
    ['warmup-iters', ['0', '1e12']],
    ['lr-decay-iters', ['1e12']],
    ['weight-decay', ['0', '1.5', '1e12']],
    ['grad-clip', ['0', '1.5', '1e12']],
    ['beta2', ['0']],
    ['eval-interval', ['1e12']],
    ['eval-iters', []],
    ['log-interval', ['1e12']],
    ['checkpoint-interval', ['1e12']],
    ['seed', ['0', '1e12']],
    ['context', []],
    ['n-layer', []],
    ['n-head', []],
    ['n-embd', []],
    ['dropout', ['0']],
    ['ffn-hidden', []],
  ];
  // A valid 1e12 may also be refused by an upper bound: either is fine ('any').
  for (const [flag, valid, skip = []] of numeric)
    for (const v of numbers)
      if (!skip.includes(v))
        add(`train --${flag}`, train({ [flag]: v }), valid.includes(v) ? (v === '1e12' ? 'any' : 'valid') : 'invalid');
  for (const v of numbers)
    add('train --hsm-heads', train({ 'n-layer': null, plan: 'hsm:ab*1', 'hsm-heads': v }), 'invalid');
  for (const v of ['0', '-1', '1.5', '1e30', 'NaN', 'abc', ''])
    add('train --budget-flops', train({ 'max-iters': null, 'budget-flops': v }), v === '1.5' ? 'any' : 'invalid');
  add('train --budget-flops', train({ 'budget-flops': '1e6' }), 'invalid', 'conflicts with --max-iters');
  add('train --n-head', train({ 'n-head': '3' }), 'invalid', 'n-embd 8 is not divisible by 3');
  add(
    'train --context',
    ['train', '--data', fx.data, '--context', '10000000', '--max-iters', '1', '--out', '{{out}}'],
    'invalid',
    'default width 128: 5 GB of positions',
  );
  add(
    'train --batch-size',
    ['train', '--data', fx.data, '--batch-size', '1e12', '--max-iters', '1', '--out', '{{out}}'],
    'invalid',
  );
  for (const plan of [
    'hsm:nope',
    'hsm:conv[k=0]*2',
    'hsm:conv[k=1000000]*2',
    'hsm:ab[proj=5]*2',
    'attn*100000',
    'attn*1e12',
    'attn*99999999999999999999',
    '(attn',
    'attn)',
    '((attn)*2',
    '',
    'attn*0',
    'attn*-1',
    'attn*1.5',
    'hsm:',
    'hsm:ab[',
    'hsm:ab[]',
    ',',
    'attn,,attn',
    'hsm:conv[k=abc]',
    'hsm:conv[k=-3]',
    'nope',
    '(attn)*0',
    'attn*2*3',
  ])
    add('train --plan', train({ 'n-layer': null, plan }), 'invalid');
  for (const plan of ['attn', 'hsm:ab*2', 'hsm:conv[k=3]*2', '(hsm:ab,attn)*2'])
    add('train --plan', train({ 'n-layer': null, plan }), 'valid');
  for (const schedule of ['[0]', '[-1]', '[1.5]', '[', '[]', 'pow3', '[[1],[]]', '{}', '"pow2"', ''])
    add('train --schedule', train({ 'n-layer': null, plan: 'hsm:ab*2', schedule }), 'invalid');
  add('train --schedule', train({ 'n-layer': null, plan: 'hsm:ab*2', schedule: '[1,2]' }), 'valid');
  add('train --schedule', train({ 'n-layer': null, plan: 'hsm:ab*2', schedule: '[1e12]' }), 'any');
  for (const mp of ['attn*1000', 'nope', '', 'attn*0', 'hsm:nope*2'])
    add('train --match-params', train({ 'match-params': mp }), 'invalid');
  add('train --match-params', train({ 'match-params': 'attn*2', 'ffn-hidden': '16' }), 'invalid', 'both FFN options');
  add('train --match-params', train({ 'n-layer': null, plan: 'hsm:ab*2', 'match-params': 'attn*1' }), 'valid');
  for (const v of ['maybe', '', '1', 'TRUE']) add('train --positions', train({ positions: v }), 'invalid');
  add('train --positions', train({ positions: 'false' }), 'valid');
  for (const v of ['nope', '', 'ids'])
    add('train --tokenizer', train({ tokenizer: v }), v === 'ids' ? 'any' : 'invalid');
  add('train --tokenizer', train({ tokenizer: 'byte' }), 'valid');
  for (const [what, v] of [
    ['nonexistent', '/nonexistent/corpus.txt'],
    ['an empty folder', fx.emptyDir],
    ['a run folder (no .txt)', fx.run],
    ['an empty file', fx.emptyFile],
    ['a binary file', fx.binaryFile],
    ['a 3-byte file', fx.shortFile],
    ['empty string', ''],
    ['/dev/null', '/dev/null'],
    ['/proc/self/mem', '/proc/self/mem'],
  ])
    add('train --data', train({ data: v }), 'invalid', what);
  add('train --data', train({ data: fx.txtDir }), 'valid', 'a folder of .txt files');
  for (const [what, v] of [
    ['an existing regular file', fx.regularFile],
    ['under a regular file', join(fx.regularFile, 'sub')],
    ['under /proc', '/proc/hsm-fuzz/run'],
    ['under /dev/null', '/dev/null/run'],
    ['empty string', ''],
    ['an existing run without --overwrite', '{{run}}'],
  ])
    add('train --out', train({ out: v }), 'invalid', what);
  for (const [what, v] of [
    ['nonexistent', '/nonexistent/config.json'],
    ['not JSON', fx.notJson],
    ['a JSON array', fx.jsonArray],
    ['an unknown key', fx.configUnknownKey],
    ['a wrong type', fx.configWrongType],
    ['a folder', fx.emptyDir],
    ['empty', fx.emptyFile],
  ])
    add('train --config', train({}, ['--config', v]), 'invalid', what);
  add('train --config', train({}, ['--config', fx.configValid]), 'valid');
  add('train --preset', train({}, ['--preset', 'nope']), 'invalid');
  add('train --preset', train({}, ['--preset', '']), 'invalid');
  add('train --resume', ['train', '--resume', '--out', '/nonexistent/run', '--max-iters', '25'], 'invalid');
  add('train --resume', ['train', '--resume', '--out', fx.emptyDir, '--max-iters', '25'], 'invalid');
  add('train --resume', ['train', '--resume', '--max-iters', '25'], 'invalid', 'no --out');
  add('train --resume', ['train', '--resume', '--overwrite', '--out', '{{run}}', '--max-iters', '25'], 'invalid');
  add(
    'train --resume',
    ['train', '--resume', '--out', '{{run}}', '--batch-size', '7'],
    'invalid',
    'another batch size',
  );
  add('train --resume', ['train', '--resume', '--out', '{{run}}', '--n-embd', '16'], 'invalid', 'another model');
  add('train --resume', ['train', '--resume', '--out', '{{run}}', '--data', fx.data], 'invalid', 'other data');
  add(
    'train --resume',
    ['train', '--resume', '--out', '{{run}}', '--max-iters', '10'],
    'any',
    'already past --max-iters',
  );
  add('train --resume', ['train', '--resume', '--out', '{{run}}', '--max-iters', '21'], 'valid');
  add('train --summary', train({}, ['--summary', '/proc/hsm-fuzz/summary.json']), 'invalid', 'written after training');
  add('train --summary', train({}, ['--summary', '']), 'invalid');
  add('train flags', train({}, ['--foo']), 'invalid');
  add('train flags', train({}, ['--foo', 'bar']), 'invalid');
  add('train flags', train({ 'max-iters': null }, ['--max-iter', '1']), 'invalid', 'typo');
  add('train flags', train({}, ['-x']), 'invalid');
  add('train flags', train({}, ['extra']), 'invalid', 'a positional argument');
  add('train flags', train({}, ['--lr']), 'invalid', 'missing value');
  add('train flags', train({ out: null }, ['--out']), 'invalid', 'missing value');

  // eval, on the reference run.
  const evalBase = ['eval', '--ckpt', fx.run];
  for (const flag of ['iters', 'batch-size'])
    for (const v of numbers) add(`eval --${flag}`, [...evalBase, `--${flag}`, v], 'invalid');
  for (const v of ['-1', '1.5', 'abc', 'NaN', '', 'Infinity'])
    add('eval --seed', [...evalBase, '--seed', v, '--iters', '1'], 'invalid');
  add('eval --seed', [...evalBase, '--seed', '0', '--iters', '1'], 'valid');
  add('eval --iters', [...evalBase, '--iters', '1', '--batch-size', '1'], 'valid');
  add('eval --ckpt', ['eval'], 'invalid', 'missing');
  for (const [what, v] of [
    ['nonexistent', '/nonexistent/run'],
    ['a regular file', fx.regularFile],
    ['an empty folder', fx.emptyDir],
    ['empty string', ''],
    ['/proc', '/proc'],
  ])
    add('eval --ckpt', ['eval', '--ckpt', v], 'invalid', what);
  for (const [what, v] of [
    ['nonexistent', '/nonexistent/corpus.txt'],
    ['an empty folder', fx.emptyDir],
    ['an empty file', fx.emptyFile],
    ['a binary file', fx.binaryFile],
    ['a 3-byte file', fx.shortFile],
    ['empty string', ''],
  ])
    add('eval --data', [...evalBase, '--data', v, '--iters', '1'], 'invalid', what);
  add('eval --data', [...evalBase, '--data', 'sotu', '--iters', '1'], 'any', 'characters outside the vocabulary');
  add('eval flags', [...evalBase, '--foo'], 'invalid');
  add('eval flags', [...evalBase, 'extra'], 'invalid');

  // generate, on the reference run.
  const gen = (...extra: string[]) => ['generate', '--ckpt', fx.run, '--max-tokens', '5', ...extra];
  for (const v of ['0', '-1', '1.5', 'NaN', 'abc', '', 'Infinity'])
    add('generate --max-tokens', ['generate', '--ckpt', fx.run, '--max-tokens', v], 'invalid');
  for (const v of ['-1', 'abc', 'NaN', '', 'Infinity'])
    add('generate --temperature', gen('--temperature', v), 'invalid');
  add('generate --temperature', gen('--temperature', '0'), 'valid');
  add('generate --temperature', gen('--temperature', '1e12'), 'any');
  for (const v of ['1.5', '-1', 'abc', '', 'NaN']) add('generate --top-k', gen('--top-k', v), 'invalid');
  add('generate --top-k', gen('--top-k', '0'), 'valid');
  add('generate --top-k', gen('--top-k', '1e12'), 'any');
  for (const v of ['0', '1.5', '-0.1', 'abc', '', 'NaN']) add('generate --top-p', gen('--top-p', v), 'invalid');
  add('generate --top-p', gen('--top-p', '0.5'), 'valid');
  for (const v of ['-1', '1.5', 'abc', '']) add('generate --seed', gen('--seed', v), 'invalid');
  add('generate --prompt', gen('--prompt', ''), 'invalid', 'empty');
  add('generate --prompt', gen('--prompt', '€'), 'invalid', 'outside the vocabulary');
  add('generate --prompt', gen('--prompt', 'x'.repeat(1000)), 'any', 'longer than the context');
  add('generate --ckpt', ['generate'], 'invalid', 'missing');
  add('generate --ckpt', ['generate', '--ckpt', '/nonexistent/run'], 'invalid');
  add('generate --ckpt', ['generate', '--ckpt', fx.regularFile], 'invalid');
  add('generate flags', gen('--foo'), 'invalid');

  // info: a configuration (no training), or a run.
  for (const v of ['-1', '0', '1.5', 'abc', '', 'NaN', '1e12'])
    add('info --vocab-size', ['info', '--vocab-size', v], 'invalid');
  for (const plan of [
    'hsm:nope',
    'attn*100000',
    '(attn',
    'hsm:conv[k=0]*2',
    'hsm:conv[k=1000000]*2',
    'hsm:ab[proj=5]*2',
  ])
    add('info --plan', ['info', '--plan', plan], 'invalid');
  add('info --context', ['info', '--context', '10000000'], 'invalid', '5 GB of positions');
  add('info --n-embd', ['info', '--n-embd', '1e12'], 'invalid');
  add('info --n-layer', ['info', '--n-layer', '1e12'], 'invalid');
  add('info --n-head', ['info', '--n-head', '3'], 'invalid');
  add('info --ffn-hidden', ['info', '--ffn-hidden', '1e12'], 'invalid');
  add('info --match-params', ['info', '--match-params', 'attn*1000'], 'invalid');
  add('info --match-params', ['info', '--match-params', 'nope'], 'invalid');
  add(
    'info --match-params',
    ['info', '--plan', 'hsm:ab*4', '--match-params', 'attn*4', '--ffn-hidden', '64'],
    'invalid',
  );
  add('info --match-params', ['info', '--plan', 'hsm:ab*6', '--match-params', 'attn*4'], 'valid');
  add('info --ckpt', ['info', '--ckpt', '/nonexistent/run'], 'invalid');
  add('info --ckpt', ['info', '--ckpt', fx.regularFile], 'invalid');
  add('info --ckpt', ['info', '--ckpt', fx.emptyDir], 'invalid');
  add('info --ckpt', ['info', '--ckpt', fx.run, '--json'], 'valid');
  add('info --config', ['info', '--config', '/nonexistent/config.json'], 'invalid');
  add('info flags', ['info', '--foo'], 'invalid');
  add('info flags', ['info', '--json'], 'valid');

  // compare
  add('compare --grid', ['compare', '--grid', 'nope'], 'invalid');
  add('compare --grid', ['compare', '--grid', '/nonexistent/grid.json'], 'invalid');
  add('compare --grid', ['compare', '--grid', fx.notJson], 'invalid');
  add('compare --grid', ['compare', '--grid', fx.gridEmpty, '--out', '{{out}}'], 'invalid');
  add('compare --grid', ['compare', '--grid', fx.gridNoModels, '--out', '{{out}}'], 'invalid');
  add('compare --grid', ['compare', '--grid', fx.gridBadPlan, '--out', '{{out}}'], 'invalid');
  add('compare --grid', ['compare', '--grid', fx.emptyDir], 'invalid');
  add('compare --grid', ['compare', '--grid', ''], 'invalid');
  add('compare --out', ['compare', '--grid', fx.gridValid, '--out', fx.regularFile], 'invalid');
  add('compare --out', ['compare', '--grid', fx.gridValid, '--out', '/proc/hsm-fuzz'], 'invalid');
  add('compare --out', ['compare', '--grid', fx.gridValid, '--out', '{{out}}'], 'valid');
  add('compare --list', ['compare', '--list'], 'valid');
  add('compare flags', ['compare', '--foo'], 'invalid');

  // bench, with settings that finish in about a second when accepted.
  const kernels = (...x: string[]) => ['bench', 'kernels', '--json', '--no-js', '--no-numpy', ...x];
  for (const v of ['0', '-1', 'abc', '1.5', '', '1,0'])
    add('bench kernels --threads', kernels('--threads', v, '--budget-ms', '1'), 'invalid');
  for (const v of ['0', '-1', 'abc', 'NaN', ''])
    add('bench kernels --budget-ms', kernels('--threads', '1', '--budget-ms', v), 'invalid');
  const btrain = (...x: string[]) => [
    'bench',
    'train',
    '--json',
    '--no-torch',
    '--configs',
    'shakespeare-char-cpu',
    ...x,
  ];
  add(
    'bench train --configs',
    ['bench', 'train', '--json', '--no-torch', '--steps', '1', '--warmup', '0', '--configs', 'nope'],
    'invalid',
  );
  for (const v of ['0', '-1', 'abc']) add('bench train --steps', btrain('--steps', v, '--warmup', '0'), 'invalid');
  for (const v of ['-1', 'abc', '1.5', ''])
    add('bench train --warmup', btrain('--steps', '1', '--warmup', v), 'invalid');
  add('bench train --threads', btrain('--steps', '1', '--warmup', '0', '--threads', '0'), 'invalid');
  const decode = (over: Record<string, string>) => [
    'bench',
    'decode',
    '--json',
    ...Object.entries({ plans: 'attn*1', positions: '8', 'n-embd': '16', ...over }).flatMap(([k, v]) => [`--${k}`, v]),
  ];
  for (const v of ['hsm:nope', 'attn*100000', '', ';']) add('bench decode --plans', decode({ plans: v }), 'invalid');
  for (const v of ['0', '-1', 'abc', '1e12']) add('bench decode --positions', decode({ positions: v }), 'invalid');
  for (const v of ['0', '1.5', 'abc', '1e12']) add('bench decode --n-embd', decode({ 'n-embd': v }), 'invalid');
  add('bench decode', decode({}), 'valid');
  const scaling = (over: Record<string, string>) => [
    'bench',
    'scaling',
    '--json',
    '--no-generate',
    ...Object.entries({
      models: 'gpt',
      contexts: '8,16',
      'tokens-per-step': '32',
      positions: '8',
      'n-embd': '16',
      'n-head': '2',
      steps: '1',
      warmup: '0',
      'fit-from': '8',
      ...over,
    }).flatMap(([k, v]) => [`--${k}`, v]),
  ];
  for (const [k, v] of [
    ['models', 'nope'],
    ['models', 'x=hsm:nope'],
    ['models', ''],
    ['contexts', '0'],
    ['contexts', 'abc'],
    ['contexts', '10000000,20000000'],
    ['tokens-per-step', '0'],
    ['tokens-per-step', '1.5'],
    ['tokens-per-step', '4'],
    ['n-head', '3'],
    ['n-embd', '0'],
    ['fit-from', '0'],
    ['steps', '0'],
    ['warmup', '-1'],
    ['warmup', 'abc'],
  ])
    add('bench scaling', scaling({ [k]: v }), 'invalid', `--${k} ${v}`);
  add('bench scaling', scaling({}), 'valid');
  add('bench', ['bench', 'nope'], 'invalid');
  add('top level', ['nope'], 'invalid');
  add('top level', ['--foo'], 'invalid');
  return cases;
}
