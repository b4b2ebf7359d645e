// `hsm export --onnx`: a run folder as ONNX graphs that any ONNX runtime runs.
// The folder holds model.onnx (the whole sequence), decoder.onnx (one token
// with its decoding state: HSM windows and attention KV caches),
// interface.json, the tokenizer, the run's config.json and a README.
//
// It is assembled beside OUT under a temporary name and renamed into place, so
// OUT is either the old folder or the whole new one: an export stopped by a
// signal removes its temporary folder, and one killed outright leaves it
// behind under a name the next export into the same OUT removes.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GPT2_RANKS_FILE } from '../data/gpt2-bpe.js';
import { gpt2RanksJson } from '../data/gpt2-tokenizer.js';
import { UserError } from '../errors.js';
import { makeFolder, replaceFolder } from '../io/folders.js';
import { modelDescription } from '../model/describe.js';
import { loadModel } from '../train/checkpoint.js';
import { findTorchPython } from '../train/torch-launch.js';
import { checkOnnxSize, ONNX_GRAPH_FILES, runOnnxExporter, type RunningExport } from './onnx-graphs.js';
import { onnxReadme, type OnnxInterface } from './onnx-readme.js';

export interface OnnxExportOptions {
  /** The folder to write. */
  out: string;
  /** The run folder to export. */
  ckpt: string;
  /** Replace OUT when it holds an earlier export. */
  overwrite?: boolean;
}

export interface OnnxExportResult {
  out: string;
  /** Every file written, relative to OUT, with its size. */
  files: { path: string; bytes: number }[];
  tokenizer: string;
  /** The decoder's state inputs and their shapes (strings name dynamic axes). */
  state: { name: string; shape: (number | string)[] }[];
  /** The interpreter and torch that exported it. */
  python: string;
  torch: string;
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/** Whether `dir` holds what exportOnnx writes (so --overwrite may replace it). */
function isEarlierExport(dir: string): boolean {
  return ONNX_GRAPH_FILES.every((f) => existsSync(join(dir, f)));
}

/** The staging folder's name for OUT, with the exporting process's id. */
function stagingName(out: string, pid: number): string {
  return `.${basename(out)}.onnx-export-${pid}`;
}

/** Removes staging folders for OUT left by exports that were killed (their process is gone). */
function removeStaleStaging(out: string): void {
  const prefix = `.${basename(out)}.onnx-export-`;
  for (const name of readdirSync(dirname(out))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).replace(/\.old$/, ''));
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    rmSync(join(dirname(out), name), { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function exportOnnx(opts: OnnxExportOptions): Promise<OnnxExportResult> {
  const { run, model, tokenizer, step } = loadModel(opts.ckpt); // every check `hsm generate` makes, with its one-line errors
  const out = resolve(opts.out);
  const exists = existsSync(out);
  if (exists && !statSync(out).isDirectory())
    throw new UserError(`--onnx ${opts.out}: a file is in the way; choose a folder path`);
  const empty = !exists || readdirSync(out).length === 0;
  if (!empty && !opts.overwrite)
    throw new UserError(
      `--onnx ${opts.out}: the folder is not empty; choose a new folder, or pass --overwrite to replace it`,
    );
  if (!empty && !isEarlierExport(out))
    throw new UserError(
      `--onnx ${opts.out}: the folder is not empty and does not hold an earlier export (${ONNX_GRAPH_FILES.join(', ')}), so --overwrite will not replace it; choose a new folder`,
    );
  checkOnnxSize(model);
  const found = findTorchPython('hsm export --onnx'); // before anything is written

  makeFolder(dirname(out), 'export folder');
  removeStaleStaging(out);
  const staging = join(dirname(out), stagingName(out, process.pid));
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  const running: RunningExport = { child: null };
  // A signal stops the exporter and removes the temporary folder: OUT stays as it was.
  const handlers = Object.entries(SIGNALS).map(([signal, code]) => {
    const handler = () => {
      running.child?.kill('SIGKILL');
      rmSync(staging, { recursive: true, force: true });
      process.exit(code);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  try {
    const description = modelDescription(model);
    await runOnnxExporter(
      found,
      [{ description, weights: join(opts.ckpt, 'model.safetensors'), out: staging }],
      running,
    );
    const iface = JSON.parse(readFileSync(join(staging, 'interface.json'), 'utf8')) as OnnxInterface;
    copyFileSync(join(opts.ckpt, 'config.json'), join(staging, 'config.json'));
    writeFileSync(join(staging, 'tokenizer.json'), JSON.stringify(run.tokenizer) + '\n');
    if (tokenizer.kind === 'gpt2') writeFileSync(join(staging, GPT2_RANKS_FILE), gpt2RanksJson());
    writeFileSync(
      join(staging, 'README.md'),
      onnxReadme({ ckpt: basename(resolve(opts.ckpt)), step, description, tokenizer: run.tokenizer, iface }),
    );
    const files = readdirSync(staging)
      .sort()
      .map((path) => ({ path, bytes: statSync(join(staging, path)).size }));
    replaceFolder(staging, out, exists);
    return {
      out,
      files,
      tokenizer: tokenizer.kind,
      state: iface.decoder.state.map((s) => ({ name: s.input, shape: s.shape })),
      python: found.python,
      torch: found.torch,
    };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UserError(
      `--onnx ${opts.out}: cannot write the export (${code}); free space or choose a writable folder`,
    );
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
