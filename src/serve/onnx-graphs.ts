// The ONNX graphs of a model, written by PyTorch's exporter through hsm_torch
// (python/hsm_torch/onnx_export.py): model.onnx, decoder.onnx and
// interface.json into a folder. torch.onnx.export is a well-kept exporter
// that writes the protobuf for us, from the same PyTorch definition of our
// models that the torch engine trains (kept equal to ours by the parity tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../errors.js';
import { writeSafetensors } from '../io/safetensors.js';
import { modelDescription, type ModelDescription } from '../model/describe.js';
import type { Transformer } from '../model/transformer.js';
import { findTorchPython, hsmTorchPythonPath, type TorchPython } from '../train/torch-launch.js';

/** What the export writes into its folder. */
export const ONNX_GRAPH_FILES = ['model.onnx', 'decoder.onnx', 'interface.json'] as const;

/** One model to export: its description and a safetensors file of its weights (our names), into `out` (an existing folder). */
export interface OnnxGraphJob {
  description: ModelDescription;
  weights: string;
  out: string;
}

/** What one .onnx file holds: a protobuf message, at most 2 GiB (this export writes no external data files). */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;

/** A UserError when the model's weights do not fit one .onnx file. */
export function checkOnnxSize(model: Transformer): void {
  const bytes = 4 * model.params.count; // as declared, so a model built with shapesOnly is measured too
  if (bytes > MAX_ONNX_BYTES)
    throw new UserError(
      `the model's weights take ${(bytes / 2 ** 30).toFixed(1)} GiB of float32, more than one .onnx file holds ` +
        '(2 GiB; this export writes no external data files); export a smaller model',
    );
}

/** The exporter's status for a model it cannot express (its stderr line says why). */
const UNSUPPORTED_EXIT = 2;

/** The running export, so that a signal handler can stop it. */
export interface RunningExport {
  child: ChildProcess | null;
}

/**
 * Runs the exporter on every job in one Python process (importing torch takes
 * seconds). A model it cannot express, or a failure, is a UserError of one
 * line; `running.child` is the process while it runs.
 */
export async function runOnnxExporter(
  found: TorchPython,
  jobs: OnnxGraphJob[],
  running: RunningExport = { child: null },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hsm-onnx-jobs-'));
  try {
    const files = jobs.map((job, i) => {
      const file = join(dir, `job-${i}.json`);
      writeFileSync(file, JSON.stringify(job));
      return file;
    });
    const child = spawn(found.python, ['-m', 'hsm_torch.onnx_export', ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONPATH: hsmTorchPythonPath() },
    });
    running.child = child;
    const errors: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim()) errors.push(line.trim());
    });
    child.stdout!.resume();
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('error', (err) => {
        errors.push(`cannot start ${found.python}: ${err.message}`);
      });
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    running.child = null;
    if (code === 0) return;
    const last = errors[errors.length - 1] ?? `no message`;
    if (code === UNSUPPORTED_EXIT) throw new UserError(last);
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    throw new UserError(
      `the ONNX export (${found.python} -m hsm_torch.onnx_export, torch ${found.torch}) ${how}: ${last}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The graphs of in-memory models (benchmarks, tests): each model's weights go
 * to a temporary safetensors file, then one exporter process writes every
 * folder in `outs` (which must exist).
 */
export async function exportModelGraphs(models: Transformer[], outs: string[], found?: TorchPython): Promise<void> {
  models.forEach(checkOnnxSize);
  const python = found ?? findTorchPython('the ONNX export');
  const dir = mkdtempSync(join(tmpdir(), 'hsm-onnx-weights-'));
  try {
    const jobs = models.map((model, i) => {
      const weights = join(dir, `model-${i}.safetensors`);
      writeSafetensors(
        weights,
        model.params.list.map((p) => [p.name!, p] as const),
        {},
      );
      return { description: modelDescription(model), weights, out: outs[i] };
    });
    await runOnnxExporter(python, jobs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
