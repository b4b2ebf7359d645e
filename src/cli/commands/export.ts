import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { exportOnnx } from '../../serve/onnx-export.js';
import { exportWeb, PAGE_CODE_BUDGET_BYTES } from '../../serve/web-export.js';

/** Bytes as B/kB/MB (decimal, as download sizes are quoted). */
function size(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

interface ExportFlags {
  web?: string;
  onnx?: string;
  ckpt: string;
  overwrite?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'write a run folder as a static web page that runs the model in the browser (--web), or as ONNX graphs for ONNX Runtime and other runtimes (--onnx)',
    )
    .option(
      '--web <out>',
      'folder to write the page to (new or empty): WebAssembly in a Web Worker, generate and train',
    )
    .option(
      '--onnx <out>',
      'folder to write model.onnx (whole sequence) and decoder.onnx (one token with its decoding state) to; needs Python with PyTorch',
    )
    .requiredOption('--ckpt <dir>', 'run folder written by hsm train')
    .option('--overwrite', 'replace the folder when it holds an earlier export')
    .action(async (f: ExportFlags) => {
      if ((f.web === undefined) === (f.onnx === undefined))
        throw new UserError('hsm export needs one of --web <folder> (a web page) or --onnx <folder> (ONNX graphs)');
      if (f.onnx !== undefined)
        exportOnnxCommand(f.onnx, await exportOnnx({ out: f.onnx, ckpt: f.ckpt, overwrite: f.overwrite }), f.ckpt);
      else exportWebCommand(f.web!, f);
    });
}

function shown(out: string): string {
  return out.replace(/\/+$/, '') || '/';
}

function exportOnnxCommand(out: string, r: Awaited<ReturnType<typeof exportOnnx>>, ckpt: string): void {
  console.log(`hsm: exported ${ckpt} (${r.tokenizer} tokenizer) to ${shown(out)}/ with torch ${r.torch}:`);
  for (const file of r.files) console.log(`  ${file.path.padEnd(26)} ${size(file.bytes).padStart(10)}`);
  console.log(
    `hsm: decoder.onnx carries ${r.state.length} state tensors (${r.state.map((s) => s.name).join(', ')}); README.md says how to run it`,
  );
}

function exportWebCommand(out: string, f: ExportFlags): void {
  const r = exportWeb({ out, ckpt: f.ckpt, overwrite: f.overwrite });
  const folder = shown(out);
  const arg = /^[\w./-]+$/.test(folder) ? folder : `'${folder.replace(/'/g, `'\\''`)}'`; // as typed in a shell
  console.log(`hsm: exported ${f.ckpt} (${r.tokenizer} tokenizer) to ${folder}/:`);
  for (const file of r.files) console.log(`  ${file.path.padEnd(26)} ${size(file.bytes).padStart(10)}`);
  console.log(
    `hsm: a visitor downloads ${size(r.codeBytes)} of code (hsm.js + hsm.wasm; budget ${size(PAGE_CODE_BUDGET_BYTES)}) ` +
      `and ${size(r.modelBytes)} of model`,
  );
  console.log(
    `hsm: serve it over http(s) (module workers do not run from file://), e.g. python3 -m http.server -d ${arg} 8000 ` +
      `(then open http://localhost:8000/) or npx serve ${arg}`,
  );
}
