import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TOKENIZER_KINDS, parseTokenizerKind } from '../../data/tokenizer.js';
import { openTextData } from '../../data/text-data.js';
import { isTokenFolder, writeTokenFolder } from '../../data/token-files.js';
import { UserError } from '../../errors.js';
import { numberIn } from '../arguments.js';

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description(
      'tokenise a corpus once into train.bin / val.bin (uint16 or uint32) and tokens.json, which hsm train --data, ' +
        'hsm eval --data and the torch engine read (as nanoGPT prepare.py writes them)',
    )
    .requiredOption('--data <spec>', 'corpus: sotu, shakespeare, a text file or a folder of .txt files')
    .option('--tokenizer <kind>', `${TOKENIZER_KINDS.join(', ')}`, 'char')
    .requiredOption('--out <dir>', 'folder to write (created if missing)')
    .option(
      '--val-fraction <f>',
      'share of tokens, from the end, held out for validation',
      numberIn(0, 0.99, { above: true }),
      0.1,
    )
    .option('--overwrite', 'replace a token folder that is already there')
    .action((flags: { data: string; tokenizer: string; out: string; valFraction: number; overwrite?: boolean }) => {
      const kind = parseTokenizerKind(flags.tokenizer);
      if (flags.out === '') throw new UserError('--out needs a folder name');
      if (isTokenFolder(flags.data))
        throw new UserError(`${flags.data} is already a token folder; pass a corpus to --data`);
      if (!flags.overwrite && existsSync(join(flags.out, 'tokens.json')))
        throw new UserError(`${flags.out} already holds a token folder; pass --overwrite to replace it`);
      const text = openTextData(flags.data, kind, flags.valFraction);
      const meta = writeTokenFolder(flags.out, text.tokenizer, text.data, {
        source: flags.data,
        valFraction: flags.valFraction,
      });
      console.log(
        JSON.stringify({
          out: flags.out,
          tokenizer: kind,
          vocab_size: meta.vocab_size,
          dtype: meta.dtype,
          train_tokens: meta.train_tokens,
          val_tokens: meta.val_tokens,
        }),
      );
    });
}
