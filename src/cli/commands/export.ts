import type { Command } from 'commander';
import { exportWeb, PAGE_CODE_BUDGET_BYTES } from '../../serve/web-export.js';

/** Bytes as kB/MB (decimal, as download sizes are quoted). */
function size(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'write a run folder as a static web page that runs the model in the browser (WebAssembly in a Web Worker): generate, and train a tiny model in the page',
    )
    .requiredOption('--web <out>', 'folder to write the page to (new or empty)')
    .requiredOption('--ckpt <dir>', 'run folder written by hsm train (char, byte or gpt2 tokenizer)')
    .option('--overwrite', 'replace the folder when it holds an earlier export')
    .action((f: { web: string; ckpt: string; overwrite?: boolean }) => {
      const r = exportWeb({ out: f.web, ckpt: f.ckpt, overwrite: f.overwrite });
      const shown = f.web.replace(/\/+$/, '') || '/';
      const arg = /^[\w./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`; // as typed in a shell
      console.log(`hsm: exported ${f.ckpt} (${r.tokenizer} tokenizer) to ${shown}/:`);
      for (const file of r.files) console.log(`  ${file.path.padEnd(26)} ${size(file.bytes).padStart(10)}`);
      console.log(
        `hsm: a visitor downloads ${size(r.codeBytes)} of code (hsm.js + hsm.wasm; budget ${size(PAGE_CODE_BUDGET_BYTES)}) ` +
          `and ${size(r.modelBytes)} of model`,
      );
      console.log(
        `hsm: serve it over http(s) (module workers do not run from file://), e.g. python3 -m http.server -d ${arg} 8000 ` +
          `(then open http://localhost:8000/) or npx serve ${arg}`,
      );
    });
}
