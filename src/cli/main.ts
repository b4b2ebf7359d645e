#!/usr/bin/env node
// The `hsm` command line: a thin layer over the library.
import { Command, InvalidArgumentError } from 'commander';
import { benchKernels } from '../bench/kernels.js';
import { kernels } from '../backend/index.js';
import { UserError } from '../data/errors.js';
import { registerEval } from './commands/evaluate.js';
import { registerGenerate } from './commands/generate.js';
import { registerInfo } from './commands/info.js';
import { registerTrain } from './commands/train.js';

const program = new Command();
program.name('hsm').description('Hierarchical Shift Mixing language models: train, compare, generate, benchmark').version('0.1.0');

function positiveInts(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`expected positive integers like "1,2", got "${value}"`);
  return list;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

registerTrain(program);
registerEval(program);
registerGenerate(program);
registerInfo(program);

const bench = program.command('bench').description('benchmarks (JSON Lines with --json)');

bench
  .command('kernels')
  .description('GFLOP/s of matmul and fused attention per backend and thread count, with numpy.matmul in the same run')
  .option('--json', 'print JSON Lines, one object per measurement')
  .option('--threads <list>', 'thread counts to measure', positiveInts, [1, 2])
  .option('--budget-ms <ms>', 'time spent repeating each measurement', positiveNumber, 1500)
  .option('--no-js', 'skip the (slow) js reference backend')
  .option('--no-numpy', 'skip the numpy.matmul comparison')
  .action((opts: { json?: boolean; threads: number[]; budgetMs: number; js: boolean; numpy: boolean }) => {
    const rows: Record<string, unknown>[] = [];
    benchKernels({
      budgetMs: opts.budgetMs,
      threads: opts.threads,
      includeJs: opts.js,
      numpy: opts.numpy,
      emit: (r) => (opts.json ? console.log(JSON.stringify(r)) : rows.push(r)),
    });
    if (!opts.json) printKernelTable(rows);
  });

function printKernelTable(rows: Record<string, unknown>[]): void {
  console.log(`backend in use: ${kernels().name}`);
  const pad = (s: unknown, n: number) => String(s).padEnd(n);
  console.log(pad('op', 20) + pad('backend', 9) + pad('threads', 9) + pad('shape', 20) + pad('GFLOP/s', 10) + 'ms');
  for (const r of rows) {
    if (r.note) console.log(`note: ${r.note}`);
    else if (r.ratio !== undefined) console.log(`  ratio ${r.ratio_of} ${r.shape} @${r.threads}t: ${(r.ratio as number).toFixed(2)}`);
    else console.log(pad(r.op, 20) + pad(r.backend, 9) + pad(r.threads, 9) + pad(r.shape, 20) + pad((r.gflops as number).toFixed(1), 10) + (r.ms as number).toFixed(3));
  }
}

// A UserError is a problem with the input: one line, exit code 2. Anything else is a bug: show the stack.
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof UserError) {
    console.error(`hsm: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
