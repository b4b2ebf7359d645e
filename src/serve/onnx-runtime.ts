// Running an `hsm export --onnx` folder in ONNX Runtime (the npm package
// onnxruntime-node, CPU): the whole-sequence graph, and the decoder driven
// token by token with its state fed back. The tests check the export with it
// and `hsm bench onnx` times it. onnxruntime-node is a devDependency (its
// package is 113 MB, and exporting needs no runtime), so it is imported only
// when used, and a missing one is a one-line error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import type { OnnxInterface } from './onnx-readme.js';

type OrtModule = typeof Ort;
let ort: OrtModule | null = null;

/** onnxruntime-node, or a UserError saying how to install it. */
export async function loadOnnxRuntime(): Promise<OrtModule> {
  if (ort) return ort;
  try {
    ort = (await import('onnxruntime-node')) as OrtModule;
  } catch (err) {
    throw new UserError(
      `running ONNX graphs needs the npm package onnxruntime-node (${(err as Error).message.split('\n')[0]}); ` +
        'install it with npm install onnxruntime-node',
    );
  }
  return ort;
}

export interface OnnxSessionOptions {
  /** Threads of one operator (0: ONNX Runtime's default, one per core). */
  threads?: number;
}

async function openSession(path: string, opts: OnnxSessionOptions): Promise<Ort.InferenceSession> {
  const rt = await loadOnnxRuntime();
  return rt.InferenceSession.create(path, {
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

/** model.onnx on B sequences of T tokens (idx row-major): logits (B, T, V) row-major. */
export async function wholeSequenceLogits(
  dir: string,
  idx: ArrayLike<number>,
  B: number,
  T: number,
  opts: OnnxSessionOptions = {},
): Promise<Float32Array> {
  const rt = await loadOnnxRuntime();
  const session = await openSession(join(dir, 'model.onnx'), opts);
  try {
    const ids = new rt.Tensor('int64', BigInt64Array.from(Array.from(idx, BigInt)), [B, T]);
    const out = await session.run({ input_ids: ids });
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** The decoding state of a batch of sequences, all at position `pos`. */
export interface OnnxDecoderState {
  batch: number;
  pos: number;
  tensors: Record<string, Ort.Tensor>;
}

/** decoder.onnx with the interface that describes it. */
export class OnnxDecoder {
  private constructor(
    private readonly rt: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly iface: OnnxInterface,
  ) {}

  static async open(dir: string, opts: OnnxSessionOptions = {}): Promise<OnnxDecoder> {
    const rt = await loadOnnxRuntime();
    const iface = JSON.parse(readFileSync(join(dir, 'interface.json'), 'utf8')) as OnnxInterface;
    return new OnnxDecoder(rt, await openSession(join(dir, 'decoder.onnx'), opts), iface);
  }

  get vocabSize(): number {
    return this.iface.vocab_size;
  }

  /** A fresh state: zero windows, empty KV caches, position 0. */
  newState(batch = 1): OnnxDecoderState {
    const tensors: Record<string, Ort.Tensor> = {};
    for (const s of this.iface.decoder.state) {
      const dims = s.shape.map((d) => (d === 'batch' ? batch : d === 'past_sequence_length' ? 0 : (d as number)));
      tensors[s.input] = new this.rt.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    }
    return { batch, pos: 0, tensors };
  }

  /** Bytes the state holds now. */
  stateBytes(state: OnnxDecoderState): number {
    return Object.values(state.tensors).reduce((sum, t) => sum + t.size * 4, 0);
  }

  /** Feeds tokens[i] to sequence i at state.pos; returns the logits (batch × V, row-major) and moves the state on. */
  async step(tokens: ArrayLike<number>, state: OnnxDecoderState): Promise<Float32Array> {
    const B = state.batch;
    if (tokens.length !== B) throw new Error(`step: ${tokens.length} tokens for a batch of ${B}`);
    const feeds: Record<string, Ort.Tensor> = {
      ...state.tensors,
      input_ids: new this.rt.Tensor('int64', BigInt64Array.from(Array.from(tokens, BigInt)), [B, 1]),
    };
    if (this.iface.decoder.inputs.includes('position_ids'))
      feeds.position_ids = new this.rt.Tensor('int64', new BigInt64Array(B).fill(BigInt(state.pos)), [B, 1]);
    const out = await this.session.run(feeds);
    for (const s of this.iface.decoder.state) state.tensors[s.input] = out[s.output];
    state.pos++;
    return out.logits.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
