import type { FloatArray } from '../backend/kernels.js';
import { ScratchArena } from '../tensor/scratch-arena.js';
import {
  add,
  crossEntropy,
  dropout,
  embedding,
  layerNorm,
  linear,
  matmul,
  mlp,
  rmsNorm,
  rows,
  swiglu,
} from '../ops/index.js';
import { PACKED_MIN_ROWS, PackedWeights } from '../ops/packed-weights.js';
import { UserError } from '../errors.js';
import type { DType } from '../tensor/buffer-pool.js';
import { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Mixer, MixerPrefill, MixerState } from './mixers/mixer.js';
import { mixerEntry } from './mixers/registry.js';
import {
  blockStyleName,
  defaultFfnHidden,
  resolveBlockStyle,
  type BlockStyle,
  type BlockStyleName,
} from './block-style.js';
import { init, ParameterStore } from './parameters.js';
import { formatPlan, parsePlan, type BlockSpec } from './plan.js';
import { layerShifts, receptiveField, type ShiftSchedule } from './schedule.js';

/** A model: GPT-2's skeleton with a token mixer per block chosen by a layer plan. */
export interface ModelConfig {
  vocabSize: number;
  blockSize: number; // context length
  nLayer: number;
  nHead: number; // attention heads
  nEmbd: number;
  lnEps?: number; // 1e-5
  /** Dropout on the embeddings and each residual branch in training (attention probabilities are not dropped). */
  dropout?: number;
  /** Layer plan ("hsm:ab*3,attn", or blocks); default: attention in every layer (GPT). Its length must equal nLayer. */
  plan?: string | BlockSpec[];
  /** Shift schedule of the HSM layers (SPEC §3), default pow2. */
  schedule?: ShiftSchedule;
  /** Head groups of HSM layers (each with its own shift under pow2-heads); default 1, or nHead for pow2-heads. */
  hsmHeads?: number;
  /** Learned absolute positions; default: on when the plan has attention, off for pure HSM (shifts carry order). */
  positions?: boolean;
  /** FFN hidden width; default 4·nEmbd, or 8·nEmbd/3 for SwiGLU (parameter matching changes it). */
  ffnHidden?: number;
  /** The block around each mixer: gpt2 (default) or transformer++ (block-style.ts); the four fields below override it. */
  style?: BlockStyleName;
  norm?: BlockStyle['norm'];
  ffn?: BlockStyle['ffn'];
  bias?: boolean;
  rotary?: boolean;
}

/** Options of a training forward pass. */
export interface ForwardOptions {
  /** Supplies dropout masks; without it (or with dropout 0) the pass is deterministic, as in evaluation. */
  dropoutRng?: Rng;
}

/** Decoding state of one sequence: every mixer's state and the next position. */
export interface InferenceState {
  pos: number;
  mixers: MixerState[];
}

/** The states a prefill fills: row i of the batch is a prompt of lengths[i] tokens, then padding. */
interface Prefill {
  states: readonly InferenceState[];
  lengths: readonly number[];
}

/** Running sequences to advance by one token each (decodeBatchInto's arguments). */
export interface DecodeRows {
  tokens: readonly number[];
  states: readonly InferenceState[];
  rows: readonly Float32Array[];
}

/** Joining prompts to prefill (prefillBatch's arguments). */
export interface PrefillRows {
  prompts: readonly Int32Array[];
  states: readonly InferenceState[];
  rows: readonly Float32Array[];
}

/** The plan a configuration describes, validated against nLayer. */
export function resolvePlan(config: ModelConfig): BlockSpec[] {
  const plan =
    config.plan === undefined
      ? Array.from({ length: config.nLayer }, () => ({ mixer: 'attn', options: {} }))
      : typeof config.plan === 'string'
        ? parsePlan(config.plan)
        : config.plan;
  for (const b of plan) mixerEntry(b.mixer, b.options); // an unknown mixer is the problem to name first
  if (plan.length !== config.nLayer) {
    throw new UserError(
      `the layer plan "${formatPlan(plan)}" has ${plan.length} blocks but nLayer is ${config.nLayer}; make them agree`,
    );
  }
  return plan;
}

/**
 * Pre-norm transformer (SPEC §2, §5): x = x + Mixer(Norm(x)); x = x + FFN(Norm(x)),
 * with the block style's norm, FFN and biases (gpt2: LayerNorm, GELU, biases;
 * transformer++: RMSNorm, SwiGLU, none), a weight-tied output head, and learned
 * or rotary positions where the plan has attention. With the default plan and
 * style it is nanoGPT's GPT-2, parameter names included.
 */
export class Transformer {
  readonly params: ParameterStore;
  readonly plan: BlockSpec[];
  readonly mixers: Mixer[];
  readonly positions: boolean;
  readonly ffnHidden: number;
  /** Norms, FFN, biases and positions of the blocks (config.style with its overrides). */
  readonly style: BlockStyle;
  /** LayerNorm epsilon (config.lnEps, default 1e-5). */
  readonly eps: number;
  /** Inference's temporaries (decode steps, prefill) reuse these buffers instead of allocating per op. */
  private readonly scratch = new ScratchArena();
  /** Weights packed once for prefill and decoding (packWeights), or null. */
  private packed: PackedWeights | null = null;

  constructor(
    readonly config: ModelConfig,
    /** shapesOnly: declare the parameters without allocating them, to count and cost a model (cost.ts). */
    opts: { seed?: number; dtype?: DType; shapesOnly?: boolean } = {},
  ) {
    const { vocabSize: V, blockSize, nLayer: L, nEmbd: C, nHead } = config;
    if (C % nHead !== 0) throw new UserError(`nEmbd ${C} must be divisible by nHead ${nHead}`);
    this.plan = resolvePlan(config);
    this.eps = config.lnEps ?? 1e-5;
    const style = (this.style = resolveBlockStyle(config.style, config));
    this.positions = config.positions ?? (this.plan.some((b) => b.mixer === 'attn') && !style.rotary);
    const F = (this.ffnHidden = config.ffnHidden ?? defaultFfnHidden(style, C));
    const schedule = config.schedule ?? 'pow2';
    const groups = config.hsmHeads ?? (schedule === 'pow2-heads' ? nHead : 1);
    if (C % groups !== 0) throw new UserError(`hsmHeads ${groups} must divide nEmbd ${C}`);
    const rng = new Rng(opts.seed ?? 1337);
    const ps = (this.params = new ParameterStore(opts.dtype ?? 'float32', opts.shapesOnly));
    const w = init.normal(rng, 0.02);
    const wProj = init.normal(rng, 0.02 / Math.sqrt(2 * L)); // GPT-2's scaled init of residual projections
    ps.add('wte.weight', [V, C], w);
    if (this.positions) ps.add('wpe.weight', [blockSize, C], w);
    const bias = (name: string, size: number) => style.bias && ps.add(name, [size], init.zeros());
    const norm = (name: string) => {
      ps.add(`${name}.weight`, [C], init.ones());
      if (style.norm === 'layernorm') bias(`${name}.bias`, C);
    };
    let hsmLayer = 0;
    this.mixers = this.plan.map((block, l) => {
      const h = `h.${l}`;
      norm(`${h}.ln_1`);
      const isAttention = block.mixer === 'attn';
      const mixer = mixerEntry(block.mixer, block.options).create({
        params: ps,
        prefix: isAttention ? `${h}.attn` : `${h}.mix`,
        rng,
        nEmbd: C,
        nHead,
        nLayer: L,
        blockSize,
        shifts: isAttention ? [] : layerShifts(schedule, hsmLayer++, groups, blockSize),
        options: block.options,
        bias: style.bias,
        rotary: style.rotary,
      });
      norm(`${h}.ln_2`);
      // SwiGLU's c_fc holds the gate's F rows, then the up projection's F rows: one product for both.
      const fcRows = style.ffn === 'swiglu' ? 2 * F : F;
      ps.add(`${h}.mlp.c_fc.weight`, [fcRows, C], w);
      bias(`${h}.mlp.c_fc.bias`, fcRows);
      ps.add(`${h}.mlp.c_proj.weight`, [C, F], wProj);
      bias(`${h}.mlp.c_proj.bias`, C);
      return mixer;
    });
    norm('ln_f');
  }

  private p(name: string): Tensor {
    return this.params.get(name);
  }

  /** A parameter the style may leave out (biases): null when the model has none. */
  private maybe(name: string): Tensor | null {
    return this.params.has(name) ? this.params.get(name) : null;
  }

  /** The style's name as `hsm info` shows it ("gpt2", "transformer++", or gpt2 with the options that differ). */
  get styleName(): string {
    return blockStyleName(this.style);
  }

  /** Receptive field of the plan at this context, and whether it covers every offset. */
  receptiveField(): { field: number; complete: boolean } {
    return receptiveField(
      this.mixers.map((m) => m.reach),
      this.config.blockSize,
    );
  }

  /** Last position decoding can reach: learned positions and KV caches end at the context; pure HSM never does. */
  get maxDecodeLength(): number {
    return this.positions || this.mixers.some((m) => m.reach === 'all') ? this.config.blockSize : Infinity;
  }

  /**
   * idx (B·T token ids, row-major B×T) → logits (B, T, V).
   * With a state (B = 1), every mixer also records what decoding needs: the prefill.
   */
  forward(idx: Int32Array, B: number, T: number, state?: InferenceState, opts: ForwardOptions = {}): Tensor {
    if (state && B !== 1) throw new Error('an inference state holds one sequence: prefill with B = 1');
    return this.head(this.trunk(idx, B, T, state && { states: [state], lengths: [T] }, opts));
  }

  /**
   * Generation's prefill: the prompt (one sequence) runs through every block in
   * parallel form, recording the decoding state, and only its last position
   * goes through the output head, which over the whole prompt would cost T × V
   * (200 MB of logits for 1,024 tokens of gpt2's vocabulary). Returns the V
   * logits of the token that follows the prompt, in `out` when given (V
   * floats, e.g. a generation stream's own buffer), else in a new array.
   */
  prefill(idx: Int32Array, state: InferenceState, out?: Float32Array): Float32Array {
    const V = this.config.vocabSize;
    if (out && out.length !== V) throw new Error(`prefill: out has ${out.length} floats, the model's vocabulary ${V}`);
    const logits = out ?? new Float32Array(V);
    this.prefillBatch([idx], [state], [logits]);
    return logits;
  }

  /**
   * prefill for N prompts at once (requests that join a server's batch in the
   * same step): the prompts, padded on the right to the longest, run as one
   * (N, T) batch, so the projections and FFNs run once over all their rows;
   * states[i] records prompt i's first prompts[i].length positions, and
   * prompt i's next-token logits go into rows[i] (V floats each). Causal
   * mixing keeps the padding from reaching a prompt's own positions.
   */
  prefillBatch(prompts: readonly Int32Array[], states: readonly InferenceState[], rows: readonly Float32Array[]): void {
    const N = prompts.length,
      V = this.config.vocabSize,
      C = this.config.nEmbd;
    const { lengths, T } = this.checkPrefill({ prompts, states, rows });
    this.inference(() => {
      const x = this.trunk(padPrompts(prompts, T), N, T, { states, lengths });
      const last = Tensor.empty([N, 1, C], x.dtype);
      lengths.forEach((n, i) => last.data.set(x.data.subarray((i * T + n - 1) * C, (i * T + n) * C), i * C));
      const logits = this.head(last).data;
      rows.forEach((row, i) => row.set(logits.subarray(i * V, (i + 1) * V)));
    });
  }

  /** prefillBatch's checks (before any state changes); the prompts' lengths and the longest. */
  private checkPrefill({ prompts, states, rows }: PrefillRows): { lengths: number[]; T: number } {
    const N = prompts.length,
      V = this.config.vocabSize;
    if (states.length !== N || rows.length !== N || rows.some((r) => r.length !== V))
      throw new Error(`prefillBatch: pass one state and one row of ${V} floats per prompt`);
    if (new Set(states).size !== N) throw new Error('prefillBatch: each prompt needs its own state from newState()');
    const lengths = prompts.map((p) => p.length);
    if (lengths.some((n) => n === 0)) throw new Error('prefill: a prompt needs at least one token');
    return { lengths, T: Math.max(...lengths) };
  }

  /**
   * A serving step in one pass: decodeBatchInto for the running sequences and
   * prefillBatch for the joining prompts. The rows of both go through the
   * LayerNorms, the FFNs and the output head together, so each of those
   * weights is read once for the step rather than once per call (on a model
   * whose weights do not fit in cache, a joining prompt's prefill otherwise
   * costs as much as a decode step); each mixer runs its recurrent form on the
   * decode rows and its parallel form on the prompts. Every sequence gets what
   * the two calls would give it, and everything is checked before any state
   * changes.
   */
  decodeAndPrefill(decode: DecodeRows, prefill: PrefillRows): void {
    const N = decode.states.length,
      P = prefill.prompts.length,
      V = this.config.vocabSize,
      C = this.config.nEmbd;
    if (P === 0) return this.decodeBatchInto(decode.tokens, decode.states, decode.rows);
    if (N === 0) return this.prefillBatch(prefill.prompts, prefill.states, prefill.rows);
    if (decode.tokens.length !== N || decode.rows.length !== N || decode.rows.some((r) => r.length !== V))
      throw new Error(`decodeAndPrefill: pass one token and one row of ${V} floats per decoding sequence`);
    const { lengths, T } = this.checkPrefill(prefill);
    this.checkBatch([...decode.states, ...prefill.states]); // nothing shared between the two sets either
    this.checkLength(T);
    this.inference(() => {
      const positions = Int32Array.from(decode.states, (s) => s.pos);
      // Both embeddings first: they check the token ids before any state changes.
      const xDecode = this.embedAt(decode.tokens, positions);
      const xPrompts = this.embedSequences(padPrompts(prefill.prompts, T), P, T);
      let x = stackRows([xDecode, xPrompts], C); // (N + P·T, C)
      for (let l = 0; l < this.config.nLayer; l++) {
        const decodeStates = decode.states.map((s) => s.mixers[l]);
        const layer: MixerPrefill = { states: prefill.states.map((s) => s.mixers[l]), lengths };
        x = this.block(
          l,
          x,
          (t) => t,
          (a) =>
            stackRows(
              [
                this.mixers[l].decodeBatch(rows(a, 0, N).reshape([N, 1, C]), decodeStates),
                this.mixers[l].forward(rows(a, N, P * T).reshape([P, T, C]), layer),
              ],
              C,
            ),
        );
      }
      decode.states.forEach((s, i) => (s.pos = positions[i] + 1));
      prefill.states.forEach((s, i) => (s.pos = lengths[i]));
      // The output head on each decoding sequence's row and each prompt's last row.
      const last = Tensor.empty([N + P, C], x.dtype);
      last.data.set(x.data.subarray(0, N * C));
      lengths.forEach((n, i) =>
        last.data.set(x.data.subarray((N + i * T + n - 1) * C, (N + i * T + n) * C), (N + i) * C),
      );
      const logits = this.head(last).data;
      [...decode.rows, ...prefill.rows].forEach((row, i) => row.set(logits.subarray(i * V, (i + 1) * V)));
    });
  }

  /** Embeddings of B sequences of T tokens (idx row-major), at positions 0..T−1: (B, T, C). */
  private embedSequences(idx: Int32Array, B: number, T: number): Tensor {
    const x = embedding(this.p('wte.weight'), idx, [B, T]);
    return this.positions ? add(x, rows(this.p('wpe.weight'), 0, T)) : x;
  }

  /** Embeddings of one token per sequence at that sequence's own position: (N, 1, C). Checks the token ids. */
  private embedAt(tokens: Int32Array | readonly number[], positions: Int32Array): Tensor {
    const N = positions.length;
    const x = embedding(this.p('wte.weight'), Int32Array.from(tokens), [N, 1]);
    return this.positions ? add(x, embedding(this.p('wpe.weight'), positions, [N, 1])) : x;
  }

  /** Embeddings and blocks: idx (B·T) → hidden states (B, T, C) before the final LayerNorm. */
  private trunk(idx: Int32Array, B: number, T: number, prefill?: Prefill, opts: ForwardOptions = {}): Tensor {
    const p = this.config.dropout ?? 0;
    this.checkLength(T);
    if (idx.length !== B * T) throw new Error(`expected ${B}×${T} token ids, got ${idx.length}`);
    if (prefill && prefill.states.length !== B)
      throw new Error(`a prefill of ${B} sequences needs ${B} states, got ${prefill.states.length}`);
    const drop = (t: Tensor) => (opts.dropoutRng && p > 0 ? dropout(t, p, opts.dropoutRng) : t);
    const x = this.blocks(drop(this.embedSequences(idx, B, T)), prefill, drop);
    prefill?.states.forEach((s, i) => (s.pos = prefill.lengths[i]));
    return x;
  }

  /** A parallel pass over T positions fits the model: learned positions and attention end at the context. */
  private checkLength(T: number): void {
    if (T > this.config.blockSize && Number.isFinite(this.maxDecodeLength))
      throw new Error(`sequence length ${T} exceeds the model's context ${this.config.blockSize}`);
  }

  /** The stack of blocks on embedded input x (B, T, C) → (B, T, C), in parallel form. */
  blocks(x: Tensor, prefill?: Prefill, drop: (t: Tensor) => Tensor = (t) => t): Tensor {
    for (let l = 0; l < this.config.nLayer; l++) {
      const layer: MixerPrefill | undefined = prefill && {
        states: prefill.states.map((s) => s.mixers[l]),
        lengths: prefill.lengths,
      };
      x = this.block(l, x, drop, (a) => this.mixers[l].forward(a, layer));
    }
    return x;
  }

  /**
   * One pre-LN block: x + mix(ln_1(x)), then x + mlp(ln_2(x)).
   * `mix` is the layer's mixer in its parallel or its recurrent form.
   */
  private block(l: number, x: Tensor, drop: (t: Tensor) => Tensor, mix: (a: Tensor) => Tensor): Tensor {
    const h = `h.${l}`;
    x = add(x, drop(mix(this.norm(x, `${h}.ln_1`))));
    return add(x, drop(this.ffn(this.norm(x, `${h}.ln_2`), `${h}.mlp`)));
  }

  /** The style's norm (LayerNorm or RMSNorm) with the named weights. */
  private norm(x: Tensor, name: string): Tensor {
    return this.style.norm === 'rmsnorm'
      ? rmsNorm(x, this.p(`${name}.weight`), this.eps)
      : layerNorm(x, this.p(`${name}.weight`), this.maybe(`${name}.bias`), this.eps);
  }

  /** The style's FFN: c_fc → GELU → c_proj fused into one op, or c_fc → SwiGLU → c_proj. */
  private ffn(x: Tensor, name: string): Tensor {
    const wFc = this.p(`${name}.c_fc.weight`),
      bFc = this.maybe(`${name}.c_fc.bias`),
      wProj = this.p(`${name}.c_proj.weight`),
      bProj = this.maybe(`${name}.c_proj.bias`);
    if (this.style.ffn === 'gelu') return mlp(x, wFc, bFc, wProj, bProj);
    return linear(swiglu(linear(x, wFc, bFc)), wProj, bProj);
  }

  /** Final norm and the tied output head: logits = ln_f(x) · wteᵀ. */
  private head(x: Tensor): Tensor {
    return matmul(this.norm(x, 'ln_f'), this.p('wte.weight'), { transB: true });
  }

  /**
   * From now on prefill and decoding read each weight matrix packed once for
   * the GEMM instead of packing it in every product, when 4 or more rows go
   * through it: a decode batch then skips a copy that costs about as much as
   * its product (hsm bench decode times batches with and without; hsm serve
   * packs; one sequence, as hsm generate decodes, takes the unpacked dot
   * products and gains nothing). The packed copies take about the weights'
   * memory again and do not follow later changes to the weights: call
   * packWeights() again after changing them (training does not use the packed
   * copies). Native backend only.
   */
  packWeights(): void {
    this.packed = new PackedWeights();
    // Pack now rather than in the first request: a prefill of one-token prompts that reaches every weight with enough rows.
    const n = PACKED_MIN_ROWS,
      V = this.config.vocabSize;
    this.prefillBatch(
      Array.from({ length: n }, () => Int32Array.of(0)),
      Array.from({ length: n }, () => this.newState()),
      Array.from({ length: n }, () => new Float32Array(V)),
    );
  }

  /** Memory the packed copies of the weights take (packWeights makes them), in bytes; 0 before packWeights. */
  get packedWeightBytes(): number {
    return this.packed?.bytes ?? 0;
  }

  /** fn on the scratch arena, with the packed weights when packWeights was called. */
  private inference<T>(fn: () => T): T {
    return this.scratch.run(() => (this.packed ? this.packed.run(fn) : fn()));
  }

  newState(): InferenceState {
    return { pos: 0, mixers: this.mixers.map((m) => m.newState()) };
  }

  /** Memory one sequence's decoding state holds (ring buffers, KV caches at full context), in bytes. */
  decodeStateBytes(): number {
    return this.newState().mixers.reduce((sum, s) => sum + s.bytes, 0);
  }

  /**
   * Appends one token at position state.pos and returns its logits (V). HSM
   * layers read their ring buffers, attention layers their KV caches: for a
   * pure HSM model the cost does not depend on the position. The N = 1 case
   * of decodeBatch.
   */
  decodeStep(token: number, state: InferenceState): Float32Array {
    return this.decodeBatch([token], [state]);
  }

  /**
   * Advances N sequences by one token each in one batched pass (continuous
   * batching): tokens[i] is appended to states[i] at that sequence's own
   * position states[i].pos, which then moves on by one. Returns the N × V
   * logits, row-major: row i (subarray(i·V, (i + 1)·V)) is sequence i's.
   *
   * Embeddings (with each sequence's own position), LayerNorms, every
   * projection and FFN, and the output head run once on an (N, 1, C) batch;
   * ring-buffer reads/writes and KV-cache attention run per sequence inside the
   * mixers (Mixer.decodeBatch). Sequences may be at any mix of positions, and
   * the set may change between calls (prefill a new state with prefill or
   * prefillBatch and add it). With N = 1 it is decodeStep. checkBatch checks
   * the batch first: the states must be distinct and not share mixer states
   * (an Error otherwise), and a model with learned positions or attention
   * throws a RangeError when any sequence is at maxDecodeLength. Everything is
   * checked before any state changes, so a throw leaves every state as it was.
   */
  decodeBatch(tokens: Int32Array | readonly number[], states: readonly InferenceState[]): Float32Array {
    const V = this.config.vocabSize;
    const out = new Float32Array(states.length * V);
    this.decodeBatchInto(
      tokens,
      states,
      states.map((_, i) => out.subarray(i * V, (i + 1) * V)),
    );
    return out;
  }

  /**
   * decodeBatch writing sequence i's V logits into rows[i] (say, each
   * generation stream's own buffer) rather than into a new N × V array: on a
   * large vocabulary, fresh memory for the logits of every step cost as much as
   * the step (page faults on this machine).
   */
  decodeBatchInto(
    tokens: Int32Array | readonly number[],
    states: readonly InferenceState[],
    rows: readonly Float32Array[],
  ): void {
    const V = this.config.vocabSize;
    if (rows.length !== states.length || rows.some((r) => r.length !== V))
      throw new Error(`decodeBatchInto: pass one row of ${V} floats per sequence`);
    this.inference(() => {
      const logits = this.decodeBatchIn(tokens, states);
      rows.forEach((row, i) => row.set(logits.subarray(i * V, (i + 1) * V)));
    });
  }

  /** The N × V logits as an arena temporary (valid inside scratch.run only). */
  private decodeBatchIn(tokens: Int32Array | readonly number[], states: readonly InferenceState[]): FloatArray {
    const N = states.length;
    if (tokens.length !== N)
      throw new Error(`decodeBatch: ${tokens.length} tokens for ${N} states; pass one token per sequence`);
    if (N === 0) return new Float32Array(0);
    this.checkBatch(states);
    const positions = Int32Array.from(states, (s) => s.pos);
    let x = this.embedAt(tokens, positions);
    for (let l = 0; l < this.config.nLayer; l++) {
      const mixerStates = states.map((s) => s.mixers[l]);
      x = this.block(
        l,
        x,
        (t) => t,
        (a) => this.mixers[l].decodeBatch(a, mixerStates),
      );
    }
    states.forEach((s, i) => (s.pos = positions[i] + 1));
    return this.head(x).data;
  }

  /** decodeBatch's checks: room to decode, one state per sequence, nothing shared. */
  private checkBatch(states: readonly InferenceState[]): void {
    const L = this.config.nLayer,
      limit = this.maxDecodeLength;
    const seen = new Map<object, number>();
    states.forEach((s, i) => {
      if (s.pos >= limit)
        throw new RangeError(
          `position ${s.pos} is beyond the model's context ${this.config.blockSize}` +
            (states.length > 1 ? ` (sequence ${i} of the batch)` : ''),
        );
      if (s.mixers.length !== L)
        throw new Error(`decodeBatch: states[${i}] has ${s.mixers.length} layer states, the model ${L} layers`);
      for (const o of [s, ...s.mixers]) {
        const j = seen.get(o);
        if (j !== undefined)
          throw new Error(
            `decodeBatch: states[${i}] ${o === s ? 'is the same object as' : 'shares a layer state with'} states[${j}]; ` +
              'each sequence needs its own state from newState()',
          );
        seen.set(o, i);
      }
    });
  }

  /**
   * Logits (R, V) at R of the B·T positions (rows[i] = b·T + t): the blocks
   * run on every position, the output head on these rows only. A synthetic
   * task that scores a few answers per sequence (the recall task: 8 of 128
   * positions, with a vocabulary of 8,192) so skips most of the head's cost.
   */
  forwardRows(idx: Int32Array, B: number, T: number, rows: Int32Array, opts: ForwardOptions = {}): Tensor {
    const x = this.trunk(idx, B, T, undefined, opts);
    // A row gather with a scatter-add backward: what the embedding op does, here over hidden states.
    return this.head(embedding(x.reshape([B * T, this.config.nEmbd]), rows));
  }

  /**
   * Mean next-token cross-entropy of idx against targets (both B×T; −1 is
   * not scored). When some targets are −1, only the scored positions go
   * through the output head; the loss and gradients are the same.
   */
  loss(idx: Int32Array, targets: Int32Array, B: number, T: number, opts: ForwardOptions = {}): Tensor {
    const rows = scoredRows(targets);
    if (rows.length === 0 || rows.length === targets.length)
      return crossEntropy(this.forward(idx, B, T, undefined, opts), targets);
    return crossEntropy(
      this.forwardRows(idx, B, T, rows, opts),
      rows.map((r) => targets[r]),
    );
  }
}

/** The positions whose target is scored (not −1). */
export function scoredRows(targets: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== -1) n++;
  const rows = new Int32Array(n);
  for (let i = 0, k = 0; i < targets.length; i++) if (targets[i] !== -1) rows[k++] = i;
  return rows;
}

/** The prompts as one (N, T) batch of token ids, each padded on the right with token 0. */
function padPrompts(prompts: readonly Int32Array[], T: number): Int32Array {
  const idx = new Int32Array(prompts.length * T);
  prompts.forEach((p, i) => idx.set(p, i * T));
  return idx;
}

/** Tensors of row width C stacked into one (rows, C) tensor: an inference copy (no gradient). */
function stackRows(parts: readonly Tensor[], C: number): Tensor {
  const out = Tensor.empty([parts.reduce((n, t) => n + t.size / C, 0), C], parts[0].dtype);
  let at = 0;
  for (const t of parts) {
    out.data.set(t.data.subarray(0, t.size), at);
    at += t.size;
  }
  return out;
}
