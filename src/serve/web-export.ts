// `hsm export --web`: a run folder as a self-contained static web page. The
// page (web/export/index.html) loads the browser bundle (dist/browser/hsm.js),
// which starts a module Web Worker running the WebAssembly kernels
// (dist/wasm/hsm.wasm) and fetches the model from model/: any static file
// host serves it, and nothing is sent to a server after the download. A gpt2
// model's folder also holds the tokenizer's ranks (model/gpt2-ranks.json,
// about 0.5 MB), which the bundle leaves out: model-side data, fetched only
// for gpt2 models.
//
// The folder is assembled beside OUT under a temporary name and renamed into
// place, so OUT is either the old folder or the whole new one, never half of it.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GPT2_RANKS_FILE } from '../data/gpt2-bpe.js';
import { gpt2RanksJson } from '../data/gpt2-tokenizer.js';
import { UserError } from '../errors.js';
import { makeFolder, replaceFolder } from '../io/folders.js';
import { projectRoot } from '../project-root.js';
import { loadModel } from '../train/checkpoint.js';

/** What a page may download as code (bundle + kernels) before its model: 1 MB. */
export const PAGE_CODE_BUDGET_BYTES = 1_000_000;

export interface WebExportOptions {
  /** The folder to write. */
  out: string;
  /** The run folder to export. */
  ckpt: string;
  /** Replace OUT when it holds an earlier export. */
  overwrite?: boolean;
}

export interface WebExportResult {
  out: string;
  /** Every file written, relative to OUT, with its size. */
  files: { path: string; bytes: number }[];
  /** hsm.js + hsm.wasm: the code a visitor downloads. */
  codeBytes: number;
  /** model/config.json + model/model.safetensors (+ model/gpt2-ranks.json for gpt2 models). */
  modelBytes: number;
  /** The model's tokenizer (char, byte or gpt2). */
  tokenizer: string;
}

/** The files of the page, from the built project (source → path in OUT); the source map is optional. */
export function pageSources(): { from: string; to: string; optional?: boolean }[] {
  const root = projectRoot();
  return [
    { from: join(root, 'web', 'export', 'index.html'), to: 'index.html' },
    { from: join(root, 'web', 'hsm.css'), to: 'hsm.css' },
    { from: join(root, 'dist', 'browser', 'hsm.js'), to: 'hsm.js' },
    { from: join(root, 'dist', 'browser', 'hsm.js.map'), to: 'hsm.js.map', optional: true },
    { from: join(root, 'dist', 'wasm', 'hsm.wasm'), to: 'hsm.wasm' },
  ];
}

/** Whether `dir` holds what exportWeb writes (so --overwrite may replace it). */
function isEarlierExport(dir: string): boolean {
  return ['index.html', 'hsm.js', join('model', 'config.json')].every((f) => existsSync(join(dir, f)));
}

export function exportWeb(opts: WebExportOptions): WebExportResult {
  const { run } = loadModel(opts.ckpt); // every check `hsm generate` makes, with its one-line errors
  const tokenizer = run.tokenizer.kind;
  if (tokenizer === 'ids')
    throw new UserError(
      `--ckpt ${opts.ckpt}: the model reads integer ids of a synthetic task, not text; export a model trained with --tokenizer char, byte or gpt2`,
    );

  const out = resolve(opts.out);
  const exists = existsSync(out);
  if (exists && !statSync(out).isDirectory())
    throw new UserError(`--web ${opts.out}: a file is in the way; choose a folder path`);
  const empty = !exists || readdirSync(out).length === 0;
  if (!empty && !opts.overwrite)
    throw new UserError(
      `--web ${opts.out}: the folder is not empty; choose a new folder, or pass --overwrite to replace it`,
    );
  if (!empty && !isEarlierExport(out))
    throw new UserError(
      `--web ${opts.out}: the folder is not empty and does not hold an earlier export (index.html, hsm.js, model/), so --overwrite will not replace it; choose a new folder`,
    );

  const sources = pageSources();
  const missing = sources.filter((s) => !s.optional && !existsSync(s.from)).map((s) => s.from);
  if (missing.length)
    throw new UserError(
      `the browser bundle is not built (${missing.map((f) => basename(f)).join(', ')} missing); run npm run build, then export again`,
    );

  const parent = dirname(out);
  makeFolder(parent, 'export folder');
  const staging = mkdtempSync(join(parent, `.${basename(out)}.export-`));
  try {
    const copies = [
      ...sources.filter((s) => existsSync(s.from)),
      { from: join(opts.ckpt, 'config.json'), to: join('model', 'config.json') },
      { from: join(opts.ckpt, 'model.safetensors'), to: join('model', 'model.safetensors') },
    ];
    mkdirSync(join(staging, 'model'));
    const files = copies.map(({ from, to }) => {
      copyFileSync(from, join(staging, to));
      return { path: to, bytes: statSync(join(staging, to)).size };
    });
    if (tokenizer === 'gpt2') {
      const to = join('model', GPT2_RANKS_FILE);
      writeFileSync(join(staging, to), gpt2RanksJson());
      files.push({ path: to, bytes: statSync(join(staging, to)).size });
    }
    replaceFolder(staging, out, exists);
    const size = (...names: string[]) =>
      files.filter((f) => names.includes(f.path)).reduce((sum, f) => sum + f.bytes, 0);
    return {
      out,
      files,
      codeBytes: size('hsm.js', 'hsm.wasm'),
      modelBytes: size(
        join('model', 'config.json'),
        join('model', 'model.safetensors'),
        join('model', GPT2_RANKS_FILE),
      ),
      tokenizer,
    };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UserError(`--web ${opts.out}: cannot write the page (${code}); free space or choose a writable folder`);
  }
}
