import type { FloatArray } from '../../backend/kernels.js';
import type { ParameterStore } from '../parameters.js';
import type { Rng } from '../../tensor/random.js';
import { Tensor } from '../../tensor/tensor.js';
import { linear, shift } from '../../ops/index.js';

/** What a mixer needs to build itself. */
export interface MixerContext {
  params: ParameterStore;
  /** Parameter name prefix, e.g. "h.3.mix" (attention uses "h.3.attn", nanoGPT's names). */
  prefix: string;
  rng: Rng;
  nEmbd: number;
  /** Attention heads, or HSM head groups (each group may have its own shift). */
  nHead: number;
  nLayer: number;
  blockSize: number;
  /** Shift per head group, from the schedule; empty for attention. */
  shifts: number[];
  options: Record<string, number | boolean>;
  /** Biases on the mixer's linear maps and affine parts (the block style's; default true). */
  bias?: boolean;
  /** Rotary positions on attention's queries and keys (the block style's; HSM mixers ignore it). */
  rotary?: boolean;
}

/** A zero-initialised bias of `size`, or null when the block style has none. */
export function optionalBias(ctx: MixerContext, name: string, size: number): Tensor | null {
  return ctx.bias === false ? null : ctx.params.add(name, [size], () => {});
}

/**
 * A token mixer: the part of a block that moves information between
 * positions. Attention and every HSM mixer implement this.
 *
 * - forward: the parallel form over a whole (B, T, C) sequence batch; with a
 *   prefill (one state per batch row) it also records what decoding needs
 *   from each row's first lengths[i] positions (the rest of a row is padding).
 * - step: the recurrent form for one new token (1, 1, C) at state's position.
 * - decodeBatch: the recurrent form for N sequences at once: x (N, 1, C), row
 *   i the new token of states[i], each at its own position. Dense work
 *   (projections) runs once over the N rows; the per-sequence parts
 *   (ring-buffer reads and writes, KV-cache appends and attention over each
 *   cache) run per row. The states must be distinct objects
 *   (Transformer.decodeBatch checks). step(x, s) is decodeBatch(x, [s]).
 */
export interface Mixer {
  readonly name: string;
  /** Shift per head group ([] for attention). */
  readonly shifts: number[];
  /** Offsets one application of the layer can move information by ('all' for attention). */
  readonly reach: number[] | 'all';
  forward(x: Tensor, prefill?: MixerPrefill): Tensor;
  newState(): MixerState;
  step(x: Tensor, state: MixerState): Tensor;
  decodeBatch(x: Tensor, states: readonly MixerState[]): Tensor;
  /** Forward FLOPs per token at this context length (projections included). */
  flopsPerToken(context: number): number;
}

/**
 * The states a prefill fills, one per batch row: row i's first lengths[i]
 * positions are its prompt; the rows are padded on the right to a common
 * length, which causal mixing keeps from reaching the real positions.
 */
export interface MixerPrefill {
  states: readonly MixerState[];
  lengths: readonly number[];
}

/** Per-sequence decoding state of one mixer; `pos` is the next position. */
export interface MixerState {
  pos: number;
  /** Memory the state holds (its ring buffers or KV cache), in bytes. */
  readonly bytes: number;
}

/**
 * The last `capacity` rows (width C) a layer has seen, for reading x_{t−s}
 * while decoding: O(capacity·C) memory, O(C) per read, whatever the position.
 */
export class ShiftHistory implements MixerState {
  pos = 0;
  private readonly rows: Float32Array;

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    this.rows = new Float32Array(Math.max(1, capacity) * width);
  }

  get bytes(): number {
    return this.rows.byteLength;
  }

  push(row: FloatArray, offset = 0): void {
    if (this.capacity > 0) {
      const slot = this.pos % this.capacity;
      this.rows.set(row.subarray(offset, offset + this.width), slot * this.width);
    }
    this.pos++;
  }

  /** Prefill: the rows of a whole (1, T, width) sequence; afterwards pos = T. */
  load(rows: FloatArray, T: number): void {
    for (let t = Math.max(0, T - this.capacity); t < T; t++) {
      this.pos = t;
      this.push(rows, t * this.width);
    }
    this.pos = T;
  }

  /**
   * Writes the row at (pos − lag) per channel group into out[offset, offset +
   * width). Groups before the start, and lag 0 (the current row, which the
   * caller has), are left untouched: zeros in a fresh buffer.
   */
  readInto(lags: readonly number[], out: FloatArray, offset: number): void {
    const groupWidth = this.width / lags.length;
    lags.forEach((lag, g) => {
      if (lag > this.capacity) throw new RangeError(`lag ${lag} exceeds the history of ${this.capacity}`);
      if (lag === 0 || this.pos < lag) return; // lag 0 is the current row, supplied by the caller
      const slot = (this.pos - lag) % this.capacity;
      const from = slot * this.width + g * groupWidth;
      out.set(this.rows.subarray(from, from + groupWidth), offset + g * groupWidth);
    });
  }
}

/** Decoding state of a shift mixer: one history per prepared tensor. */
export class ShiftState implements MixerState {
  constructor(readonly histories: ShiftHistory[]) {}
  get pos(): number {
    return this.histories[0].pos;
  }
  get bytes(): number {
    return this.histories.reduce((sum, h) => sum + h.bytes, 0);
  }
}

/**
 * Base of the HSM mixers: y_t = f(x_t, x_{t−s}) (SPEC §2), with an
 * optional output projection. A subclass says which lagged copies it needs
 * (`lags`: one per-group shift list each) and how to combine them (`mix`);
 * this class supplies them from shift() in the parallel form and from a ring
 * buffer when decoding, so the two forms share every op.
 */
export abstract class ShiftMixer implements Mixer {
  abstract readonly name: string;
  readonly shifts: number[];
  protected readonly C: number;
  protected readonly groups: number;
  private readonly projW: Tensor | null;
  private readonly projB: Tensor | null;

  constructor(ctx: MixerContext) {
    this.shifts = ctx.shifts;
    this.C = ctx.nEmbd;
    this.groups = ctx.shifts.length;
    if (this.C % this.groups !== 0) throw new Error(`${this.groups} head groups do not divide nEmbd ${this.C}`);
    const std = 0.02 / Math.sqrt(2 * ctx.nLayer);
    this.projW = ctx.options.proj
      ? ctx.params.add(`${ctx.prefix}.c_proj.weight`, [this.C, this.C], (d) => ctx.rng.fillNormal(d, std))
      : null;
    this.projB = ctx.options.proj ? optionalBias(ctx, `${ctx.prefix}.c_proj.bias`, this.C) : null;
  }

  /** Lagged inputs the mix reads: each entry is one shift per head group. */
  get lags(): number[][] {
    return [this.shifts];
  }

  get reach(): number[] {
    const offsets = new Set<number>();
    for (const lag of this.lags) for (const s of lag) offsets.add(s);
    return [...offsets];
  }

  /**
   * What gets shifted, as tensors of width C (default: the input itself;
   * `pair` shifts its keys and values).
   */
  protected prepare(x: Tensor): Tensor[] {
    return [x];
  }

  /** How many tensors prepare() returns. */
  protected get preparedCount(): number {
    return 1;
  }

  /**
   * Combines the current input and its prepared tensors with their lagged
   * copies: past[i][j] is prepared tensor j read at lag set i (order of `lags`).
   */
  protected abstract mix(x: Tensor, prepared: Tensor[], past: Tensor[][]): Tensor;

  /** FLOPs per token of `mix` (and `prepare`), without the output projection. */
  protected abstract mixFlops(): number;

  private project(y: Tensor): Tensor {
    return this.projW ? linear(y, this.projW, this.projB) : y;
  }

  /**
   * An optional fused kernel for the parallel form, equal to mix() over
   * shifted copies (tests hold them equal); decoding always uses mix().
   */
  protected fused?(x: Tensor): Tensor;

  forward(x: Tensor, prefill?: MixerPrefill): Tensor {
    if (prefill) {
      // The decoding states need the prepared rows, then the composed form reuses them.
      const prepared = this.prepare(x);
      const rowSize = x.shape[1] * this.C;
      prepared.forEach((p, j) =>
        prefill.states.forEach((s, i) =>
          (s as ShiftState).histories[j].load(p.data.subarray(i * rowSize, (i + 1) * rowSize), prefill.lengths[i]),
        ),
      );
      return this.composed(x, prepared);
    }
    return this.fused ? this.project(this.fused(x)) : this.composedForward(x);
  }

  /** The parallel form from shift() and mix() alone: the reference a fused kernel is tested against. */
  composedForward(x: Tensor): Tensor {
    return this.composed(x, this.prepare(x));
  }

  private composed(x: Tensor, prepared: Tensor[]): Tensor {
    return this.project(
      this.mix(
        x,
        prepared,
        this.lags.map((lag) => prepared.map((p) => shift(p, lag))),
      ),
    );
  }

  newState(): ShiftState {
    const maxLag = Math.max(0, ...this.lags.flat());
    return new ShiftState(Array.from({ length: this.preparedCount }, () => new ShiftHistory(maxLag, this.C)));
  }

  step(x: Tensor, state: MixerState): Tensor {
    return this.decodeBatch(x, [state]);
  }

  /**
   * step() for N sequences: prepare, mix and project run once on (N, 1, C);
   * each lagged copy is gathered row by row from that sequence's own history,
   * then each sequence's prepared row is pushed into it.
   */
  decodeBatch(x: Tensor, states: readonly MixerState[]): Tensor {
    const N = states.length,
      C = this.C;
    if (x.shape[0] !== N || x.size !== N * C)
      throw new Error(`decodeBatch: expected input (${N}, 1, ${C}), got [${x.shape.join(', ')}]`);
    const histories = states.map((s) => (s as ShiftState).histories);
    const prepared = this.prepare(x);
    const past = this.lags.map((lag) =>
      prepared.map((_, j) => {
        const out = Tensor.zeros([N, 1, C], x.dtype);
        for (let i = 0; i < N; i++) histories[i][j].readInto(lag, out.data, i * C);
        return out;
      }),
    );
    prepared.forEach((p, j) => {
      for (let i = 0; i < N; i++) histories[i][j].push(p.data, i * C);
    });
    return this.project(this.mix(x, prepared, past));
  }

  flopsPerToken(): number {
    return this.mixFlops() + (this.projW ? 2 * this.C * this.C : 0);
  }
}
