#!/usr/bin/env node
// The `hsm` command line: a thin layer over the library.
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';
import { registerBench } from './commands/bench.js';
import { registerEval } from './commands/evaluate.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerInfo } from './commands/info.js';
import { registerCompare } from './commands/compare.js';
import { registerServe } from './commands/serve.js';
import { registerTokenize } from './commands/tokenize.js';
import { registerTrain } from './commands/train.js';

const program = new Command();
program
  .name('hsm')
  .description('Hierarchical Shift Mixing language models: train, compare, generate, serve, export, benchmark')
  .version('0.1.0')
  // Parse errors (unknown option, missing or invalid value) throw instead of exiting with 1,
  // so they end with exit code 2 like every other bad input; set before the commands so they inherit it.
  .exitOverride()
  .allowExcessArguments(false) // a stray word is a mistake to report, not to ignore
  // Every error line starts "hsm: ", commander's parse errors too.
  .configureOutput({
    outputError: (text, write) =>
      write(
        text
          .replace(/^error: /, 'hsm: ')
          .trim()
          .replace(/\n/g, ' ') + '\n',
      ),
  });

registerTrain(program);
registerTokenize(program);
registerEval(program);
registerGenerate(program);
registerInfo(program);
registerCompare(program);
registerServe(program);
registerExport(program);
registerBench(program);

// A UserError is a problem with the input: one line, exit code 2. Anything else is a bug: show the stack.
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2); // commander printed the message
  if (err instanceof UserError) {
    console.error(`hsm: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
