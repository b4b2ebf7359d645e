/**
 * The native kernel ABI, declared once on the TypeScript side (native/kernel_list.h
 * is its C++ twin): for every kernel, its arguments in order as 'name: kind', the
 * minimum length of each array, extra validity rules, and what it returns.
 *
 * From this table follow
 * - `AbiFunctions`, the type of the addon's kernel functions;
 * - `withArgChecks`, the one wrapper that checks every call's types, integer
 *   sizes and array lengths, so a wrong size is a RangeError naming the kernel
 *   and the argument, never a read past the end of a buffer;
 * - what a glue layer that copies arrays into another memory (a wasm backend)
 *   needs: `abiArgs` tells which arguments are arrays and which of them the
 *   kernel writes (copy those back), `minLengths` how many elements each needs;
 * - `verifyKernelSignatures`, which native.ts and wasm.ts run on every load
 *   against the kinds the addon (or module) deduced from its C++ parameter types.
 * The `satisfies` check at the end keeps the table equal to the `Kernels`
 * interface wherever the two take the same arguments.
 */
import { packedMatmulBLength, type FloatArray, type Kernels } from './kernels.js';

/**
 * An argument's kind. 'out' marks arrays the kernel writes (outputs, gradients,
 * in-place state); '?' arrays that may be null; 'int' is a non-negative integer.
 */
export type ArgKind = 'f32' | 'f32 out' | 'f32?' | 'f32? out' | 'i32' | 'int' | 'float' | 'bool';
export type ReturnKind = 'void' | 'number';
type ArgDecl = `${string}: ${ArgKind}`;

type NameOf<D> = D extends `${infer N}: ${string}` ? N : never;
type KindOf<D> = D extends `${string}: ${infer K extends ArgKind}` ? K : never;
type ValueOf<K> = K extends 'f32' | 'f32 out'
  ? Float32Array
  : K extends 'f32?' | 'f32? out'
    ? Float32Array | null
    : K extends 'i32'
      ? Int32Array
      : K extends 'bool'
        ? boolean
        : number;

/** The JavaScript values a kernel takes, as a tuple. */
export type AbiParams<A extends readonly ArgDecl[]> = { -readonly [I in keyof A]: ValueOf<KindOf<A[I]>> };
/** The arguments by name. */
export type NamedArgs<A extends readonly ArgDecl[]> = { [D in A[number] as NameOf<D>]: ValueOf<KindOf<D>> };
type ArrayName<A extends readonly ArgDecl[]> = {
  [D in A[number]]: KindOf<D> extends 'int' | 'float' | 'bool' ? never : NameOf<D>;
}[A[number]];
type ResultOf<R extends ReturnKind> = R extends 'number' ? number : void;

export interface KernelSpec<A extends readonly ArgDecl[] = readonly ArgDecl[], R extends ReturnKind = ReturnKind> {
  readonly args: A;
  readonly returns: R;
  /** Every array argument's minimum length (null: any length, e.g. a table indexed by data). */
  minLengths(a: NamedArgs<A>): Record<ArrayName<A>, number | null>;
  /** Why the arguments are invalid beyond their types and lengths, or undefined when they are fine. */
  invalid?(a: NamedArgs<A>): string | undefined;
}

function kernel<const A extends readonly ArgDecl[], R extends ReturnKind = 'void'>(
  args: A,
  minLengths: (a: NamedArgs<A>) => Record<ArrayName<A>, number | null>,
  more: { returns?: R; invalid?: (a: NamedArgs<A>) => string | undefined } = {},
): KernelSpec<A, R> {
  return { args, returns: (more.returns ?? 'void') as R, minLengths, invalid: more.invalid };
}

const groupsInvalid = (what: string, groups: number, c: number): string | undefined =>
  groups < 1 || c % groups !== 0 ? `${groups} ${what} do not divide ${c} channels` : undefined;

const columnsInvalid = (c: number, start: number, width: number): string | undefined =>
  start < 0 || width < 0 || start + width > c
    ? `channels [${start}, ${start + width}) are not within 0..${c}`
    : undefined;

function shiftsInvalid({ c, shifts, groups }: { c: number; shifts: Int32Array; groups: number }): string | undefined {
  for (let g = 0; g < groups; g++) if (shifts[g] < 0) return `negative shift ${shifts[g]}`;
  return groupsInvalid('shift groups', groups, c);
}

interface RotaryShape {
  n: number;
  width: number;
  dh: number;
  maxPos: number;
}

/** rotaryForward/Backward's array lengths, for its input and output names. */
function rotaryLengths<I extends string, O extends string>(input: I, output: O) {
  return ({ n, width, dh, maxPos }: RotaryShape) =>
    ({
      [input]: n * width,
      [output]: n * width,
      cos: (maxPos * dh) / 2,
      sin: (maxPos * dh) / 2,
      positions: n,
    }) as Record<I | O | 'cos' | 'sin' | 'positions', number>;
}

/** Heads of an even width that fit the row, and every position inside the tables (they index cos and sin). */
function rotaryInvalid({
  positions,
  n,
  width,
  rotated,
  dh,
  maxPos,
}: RotaryShape & { positions: Int32Array; rotated: number }) {
  if (dh < 2 || dh % 2 !== 0) return `head width ${dh} must be even`;
  if (rotated % dh !== 0 || rotated > width)
    return `${rotated} rotated columns are not whole heads of ${dh} within ${width}`;
  for (let r = 0; r < n; r++)
    if (positions[r] < 0 || positions[r] >= maxPos) return `position ${positions[r]} outside the tables' ${maxPos}`;
  return undefined;
}

/** Every native kernel. Shapes and semantics: the `Kernels` interface (kernels.ts). */
export const KERNEL_ABI = {
  matmul: kernel(
    [
      'a: f32',
      'b: f32',
      'c: f32 out',
      'm: int',
      'k: int',
      'n: int',
      'transA: bool',
      'transB: bool',
      'accumulate: bool',
      'batch: int',
      'strideA: int',
      'strideB: int',
      'strideC: int',
      'bias: f32?',
      'epilogue: int',
      'aux: f32? out',
    ],
    ({ m, k, n, batch, strideA, strideB, strideC, epilogue }) => ({
      a: (batch - 1) * strideA + m * k,
      b: (batch - 1) * strideB + k * n,
      c: (batch - 1) * strideC + m * n,
      bias: n,
      aux: epilogue ? m * n : null,
    }),
    {
      invalid: ({ bias, aux, accumulate, batch, epilogue }) =>
        bias && accumulate
          ? 'a bias cannot be combined with accumulate'
          : epilogue > 2
            ? `unknown epilogue ${epilogue}` // the codes of native/kernel_table.h's MatmulEpilogue
            : epilogue && (!aux || accumulate || batch !== 1)
              ? 'an epilogue needs aux, one item and no accumulate'
              : undefined,
    },
  ),
  packMatmulB: kernel(['b: f32', 'packed: f32 out', 'k: int', 'n: int', 'transB: bool'], ({ k, n }) => ({
    b: k * n,
    packed: packedMatmulBLength(k, n),
  })),
  matmulPackedB: kernel(
    [
      'a: f32',
      'packed: f32',
      'c: f32 out',
      'm: int',
      'k: int',
      'n: int',
      'bias: f32?',
      'epilogue: int',
      'aux: f32? out',
    ],
    ({ m, k, n, epilogue }) => ({
      a: m * k,
      packed: packedMatmulBLength(k, n),
      c: m * n,
      bias: n,
      aux: epilogue ? m * n : null,
    }),
    {
      invalid: ({ aux, epilogue }) =>
        epilogue > 2 ? `unknown epilogue ${epilogue}` : epilogue && !aux ? 'an epilogue needs aux' : undefined,
    },
  ),
  attentionForward: kernel(
    ['qkv: f32', 'out: f32 out', 'lse: f32 out', 'b: int', 't: int', 'h: int', 'dh: int'],
    ({ b, t, h, dh }) => ({ qkv: b * t * 3 * h * dh, out: b * t * h * dh, lse: b * h * t }),
  ),
  attentionBackward: kernel(
    ['qkv: f32', 'out: f32', 'lse: f32', 'dout: f32', 'dqkv: f32 out', 'b: int', 't: int', 'h: int', 'dh: int'],
    ({ b, t, h, dh }) => ({
      qkv: b * t * 3 * h * dh,
      out: b * t * h * dh,
      lse: b * h * t,
      dout: b * t * h * dh,
      dqkv: b * t * 3 * h * dh,
    }),
  ),
  attentionDecode: kernel(
    ['q: f32', 'keys: f32', 'values: f32', 'out: f32 out', 't: int', 'h: int', 'dh: int'],
    ({ t, h, dh }) => ({ q: h * dh, keys: t * h * dh, values: t * h * dh, out: h * dh }),
  ),
  layerNormForward: kernel(
    ['x: f32', 'w: f32', 'bias: f32', 'y: f32 out', 'mean: f32 out', 'rstd: f32 out', 'n: int', 'c: int', 'eps: float'],
    ({ n, c }) => ({ x: n * c, w: c, bias: c, y: n * c, mean: n, rstd: n }),
  ),
  layerNormBackward: kernel(
    [
      'x: f32',
      'w: f32',
      'mean: f32',
      'rstd: f32',
      'dy: f32',
      'dx: f32? out',
      'dw: f32? out',
      'db: f32? out',
      'n: int',
      'c: int',
    ],
    ({ n, c }) => ({ x: n * c, w: c, mean: n, rstd: n, dy: n * c, dx: n * c, dw: c, db: c }),
  ),
  addForward: kernel(['a: f32', 'b: f32', 'out: f32 out', 'outer: int', 'inner: int'], ({ outer, inner }) => ({
    a: outer * inner,
    b: inner,
    out: outer * inner,
  })),
  addBackward: kernel(['dy: f32', 'da: f32? out', 'db: f32? out', 'outer: int', 'inner: int'], ({ outer, inner }) => ({
    dy: outer * inner,
    da: outer * inner,
    db: inner,
  })),
  mulForward: kernel(['a: f32', 'b: f32', 'out: f32 out', 'outer: int', 'inner: int'], ({ outer, inner }) => ({
    a: outer * inner,
    b: inner,
    out: outer * inner,
  })),
  mulBackward: kernel(
    ['a: f32', 'b: f32', 'dy: f32', 'da: f32? out', 'db: f32? out', 'outer: int', 'inner: int'],
    ({ outer, inner }) => ({ a: outer * inner, b: inner, dy: outer * inner, da: outer * inner, db: inner }),
  ),
  scale: kernel(['x: f32', 'alpha: float', 'out: f32 out', 'n: int'], ({ n }) => ({ x: n, out: n })),
  axpy: kernel(['alpha: float', 'x: f32', 'y: f32 out', 'n: int'], ({ n }) => ({ x: n, y: n })),
  geluForward: kernel(['x: f32', 'y: f32 out', 'n: int'], ({ n }) => ({ x: n, y: n })),
  geluBackward: kernel(['x: f32', 'dy: f32', 'dx: f32 out', 'n: int', 'overwrite: bool'], ({ n }) => ({
    x: n,
    dy: n,
    dx: n,
  })),
  sigmoidForward: kernel(['x: f32', 'y: f32 out', 'n: int'], ({ n }) => ({ x: n, y: n })),
  sigmoidBackward: kernel(['y: f32', 'dy: f32', 'dx: f32 out', 'n: int'], ({ n }) => ({ y: n, dy: n, dx: n })),
  rmsNormForward: kernel(
    ['x: f32', 'w: f32', 'y: f32 out', 'rstd: f32 out', 'n: int', 'c: int', 'eps: float'],
    ({ n, c }) => ({ x: n * c, w: c, y: n * c, rstd: n }),
  ),
  rmsNormBackward: kernel(
    ['x: f32', 'w: f32', 'rstd: f32', 'dy: f32', 'dx: f32? out', 'dw: f32? out', 'n: int', 'c: int'],
    ({ n, c }) => ({ x: n * c, w: c, rstd: n, dy: n * c, dx: n * c, dw: c }),
  ),
  swigluForward: kernel(['h: f32', 'y: f32 out', 'n: int', 'f: int'], ({ n, f }) => ({ h: 2 * n * f, y: n * f })),
  swigluBackward: kernel(['h: f32', 'dy: f32', 'dh: f32 out', 'n: int', 'f: int', 'overwrite: bool'], ({ n, f }) => ({
    h: 2 * n * f,
    dy: n * f,
    dh: 2 * n * f,
  })),
  rotaryForward: kernel(
    [
      'x: f32',
      'y: f32 out',
      'cos: f32',
      'sin: f32',
      'positions: i32',
      'n: int',
      'width: int',
      'rotated: int',
      'dh: int',
      'maxPos: int',
    ],
    rotaryLengths('x', 'y'),
    { invalid: rotaryInvalid },
  ),
  rotaryBackward: kernel(
    [
      'dy: f32',
      'dx: f32 out',
      'cos: f32',
      'sin: f32',
      'positions: i32',
      'n: int',
      'width: int',
      'rotated: int',
      'dh: int',
      'maxPos: int',
    ],
    rotaryLengths('dy', 'dx'),
    { invalid: rotaryInvalid },
  ),
  softmaxForward: kernel(['x: f32', 'y: f32 out', 'n: int', 'c: int'], ({ n, c }) => ({ x: n * c, y: n * c })),
  softmaxBackward: kernel(['y: f32', 'dy: f32', 'dx: f32 out', 'n: int', 'c: int'], ({ n, c }) => ({
    y: n * c,
    dy: n * c,
    dx: n * c,
  })),
  crossEntropyForward: kernel(
    ['logits: f32', 'targets: i32', 'lse: f32 out', 'losses: f32 out', 'n: int', 'v: int'],
    ({ n, v }) => ({ logits: n * v, targets: n, lse: n, losses: n }),
  ),
  crossEntropyBackward: kernel(
    ['logits: f32', 'targets: i32', 'lse: f32', 'dlogits: f32 out', 'scale: float', 'n: int', 'v: int'],
    ({ n, v }) => ({ logits: n * v, targets: n, lse: n, dlogits: n * v }),
  ),
  // The weight rows are picked by idx, whose values the caller checks.
  embeddingForward: kernel(['weight: f32', 'idx: i32', 'out: f32 out', 'n: int', 'c: int'], ({ n, c }) => ({
    weight: null,
    idx: n,
    out: n * c,
  })),
  embeddingBackward: kernel(['idx: i32', 'dout: f32', 'dweight: f32 out', 'n: int', 'c: int'], ({ n, c }) => ({
    idx: n,
    dout: n * c,
    dweight: null,
  })),
  shiftForward: kernel(
    ['x: f32', 'y: f32 out', 'b: int', 't: int', 'c: int', 'shifts: i32', 'groups: int'],
    ({ b, t, c, groups }) => ({ x: b * t * c, y: b * t * c, shifts: groups }),
    { invalid: shiftsInvalid },
  ),
  shiftBackward: kernel(
    ['dy: f32', 'dx: f32 out', 'b: int', 't: int', 'c: int', 'shifts: i32', 'groups: int'],
    ({ b, t, c, groups }) => ({ dy: b * t * c, dx: b * t * c, shifts: groups }),
    { invalid: shiftsInvalid },
  ),
  shiftMixForward: kernel(
    ['x: f32', 'a: f32', 'w: f32', 'y: f32 out', 'b: int', 't: int', 'c: int', 'shifts: i32', 'groups: int'],
    ({ b, t, c, groups }) => ({ x: b * t * c, a: c, w: c, y: b * t * c, shifts: groups }),
    { invalid: shiftsInvalid },
  ),
  shiftMixBackward: kernel(
    [
      'x: f32',
      'a: f32',
      'w: f32',
      'dy: f32',
      'dx: f32? out',
      'da: f32? out',
      'dw: f32? out',
      'b: int',
      't: int',
      'c: int',
      'shifts: i32',
      'groups: int',
    ],
    ({ b, t, c, groups }) => ({ x: b * t * c, a: c, w: c, dy: b * t * c, dx: b * t * c, da: c, dw: c, shifts: groups }),
    { invalid: shiftsInvalid },
  ),
  groupSum: kernel(
    ['x: f32', 'out: f32 out', 'n: int', 'c: int', 'g: int'],
    ({ n, c, g }) => ({ x: n * c, out: n * g }),
    { invalid: ({ c, g }) => groupsInvalid('groups', g, c) },
  ),
  groupExpand: kernel(
    ['x: f32', 'out: f32 out', 'n: int', 'c: int', 'g: int', 'accumulate: bool'],
    ({ n, c, g }) => ({ x: n * g, out: n * c }),
    { invalid: ({ c, g }) => groupsInvalid('groups', g, c) },
  ),
  columnsForward: kernel(
    ['x: f32', 'out: f32 out', 'n: int', 'c: int', 'start: int', 'width: int'],
    ({ n, c, width }) => ({ x: n * c, out: n * width }),
    { invalid: ({ c, start, width }) => columnsInvalid(c, start, width) },
  ),
  columnsBackward: kernel(
    ['dy: f32', 'dx: f32 out', 'n: int', 'c: int', 'start: int', 'width: int'],
    ({ n, c, width }) => ({ dy: n * width, dx: n * c }),
    { invalid: ({ c, start, width }) => columnsInvalid(c, start, width) },
  ),
  sumSquares: kernel(['x: f32', 'n: int'], ({ n }) => ({ x: n }), { returns: 'number' }),
  sum: kernel(['x: f32', 'n: int'], ({ n }) => ({ x: n }), { returns: 'number' }),
  fmaPeak: kernel(['a: float', 'b: float', 'iterations: int', 'tasks: int'], () => ({}), { returns: 'number' }),
  adamw: kernel(
    [
      'param: f32 out',
      'grad: f32',
      'm: f32 out',
      'v: f32 out',
      'n: int',
      'lr: float',
      'beta1: float',
      'beta2: float',
      'eps: float',
      'weightDecay: float',
      'gradScale: float',
      'step: int',
    ],
    ({ n }) => ({ param: n, grad: n, m: n, v: n }),
  ),
};

export type KernelAbi = typeof KERNEL_ABI;
export type KernelName = keyof KernelAbi;
type FunctionOf<S> = S extends KernelSpec<infer A, infer R> ? (...args: AbiParams<A>) => ResultOf<R> : never;
/** The kernel functions of the addon (or any other implementation of the ABI). */
export type AbiFunctions = { [K in KernelName]: FunctionOf<KernelAbi[K]> };

/** Kernels whose `Kernels` signature differs from the flat ABI; abi-kernels.ts adapts them by hand. */
export const ADAPTED_KERNELS = [
  'matmul',
  'matmulPackedB',
  'adamw',
  'shiftForward',
  'shiftBackward',
  'shiftMixForward',
  'shiftMixBackward',
] as const;
export type DirectKernel = Exclude<KernelName, (typeof ADAPTED_KERNELS)[number]>;
/** The others: their `Kernels` method is the ABI function itself (see the check at the end). */
export const DIRECT_KERNELS = (Object.keys(KERNEL_ABI) as KernelName[]).filter(
  (name): name is DirectKernel => !(ADAPTED_KERNELS as readonly string[]).includes(name),
);

// ---------------------------------------------------------------------------
// Runtime: parsed arguments, checks, signatures.
// ---------------------------------------------------------------------------

export interface AbiArg {
  name: string;
  kind: ArgKind;
  /** The array's element type, or null for a number or boolean. */
  array: 'f32' | 'i32' | null;
  nullable: boolean;
  /** The kernel writes the array: a glue layer copies it back out. */
  written: boolean;
}

function parseArg(decl: string): AbiArg {
  const [name, kind] = decl.split(': ') as [string, ArgKind];
  const array = kind.startsWith('f32') ? 'f32' : kind === 'i32' ? 'i32' : null;
  return { name, kind, array, nullable: kind.includes('?'), written: kind.endsWith(' out') };
}

const parsed = new WeakMap<KernelSpec, AbiArg[]>();

/** A kernel's arguments, parsed from the table. */
export function abiArgs(spec: KernelSpec): AbiArg[] {
  let args = parsed.get(spec);
  if (!args) parsed.set(spec, (args = spec.args.map(parseArg)));
  return args;
}

/** "f32, f32 out, int -> void": the same string the addon's `kernelSignatures` holds for the kernel. */
export function abiSignature(spec: KernelSpec): string {
  return `${abiArgs(spec)
    .map((a) => a.kind)
    .join(', ')} -> ${spec.returns}`;
}

/** Each kind's test, as JavaScript source on the value `v`. */
const VALID: Record<ArgKind, (v: string) => string> = {
  f32: (v) => `${v} instanceof Float32Array`,
  'f32 out': (v) => `${v} instanceof Float32Array`,
  'f32?': (v) => `${v} === null || ${v} instanceof Float32Array`,
  'f32? out': (v) => `${v} === null || ${v} instanceof Float32Array`,
  i32: (v) => `${v} instanceof Int32Array`,
  int: (v) => `Number.isSafeInteger(${v}) && ${v} >= 0`,
  float: (v) => `typeof ${v} === 'number'`,
  bool: (v) => `typeof ${v} === 'boolean'`,
};

const EXPECTED: Record<ArgKind, string> = {
  f32: 'a Float32Array',
  'f32 out': 'a Float32Array',
  'f32?': 'a Float32Array or null',
  'f32? out': 'a Float32Array or null',
  i32: 'an Int32Array',
  int: 'a non-negative integer',
  float: 'a number',
  bool: 'a boolean',
};

function invalidValue(backend: string, kernel: string, arg: AbiArg, v: unknown): Error {
  const Err = arg.kind === 'int' && typeof v === 'number' ? RangeError : TypeError;
  const got = v instanceof Object ? v.constructor.name : String(v);
  return new Err(`${backend} kernel ${kernel}: ${arg.name} must be ${EXPECTED[arg.kind]}, got ${got}`);
}

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * `fn` behind one kernel's checks: argument kinds, non-negative integers, array
 * lengths (minLengths) and the kernel's own rules (invalid), each failure an
 * error naming the kernel and the argument. With `fallback`, a call whose float
 * arrays are not all Float32Array (float64 in gradient checks) goes there instead.
 *
 * The wrapper is generated source, as validators such as ajv do: straight-line
 * code with a fixed parameter list is several times cheaper per call than a
 * generic loop over rest parameters, and decoding a small model (about a
 * hundred kernel calls per token) would feel the difference. Print
 * `wrapper.toString()` to read it.
 */
function checked(
  backend: string,
  kernel: string,
  spec: KernelSpec,
  fn: AnyFunction,
  fallback?: AnyFunction,
): AnyFunction {
  const decls = abiArgs(spec),
    names = decls.map((arg) => arg.name),
    params = names.join(', ');
  for (const name of [kernel, ...names])
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new Error(`kernel-abi: ${kernel}: bad name ${name}`);
  const floats = decls.filter((arg) => arg.array === 'f32').map((arg) => `(${VALID['f32?'](arg.name)})`);
  const body = [
    ...(fallback && floats.length ? [`if (!(${floats.join(' && ')})) return $fallback(${params});`] : []),
    ...decls.map((arg, i) => `if (!(${VALID[arg.kind](arg.name)})) throw $invalid(${i}, ${arg.name});`),
    `const $named = { ${params} }, $need = $spec.minLengths($named);`,
    ...decls
      .filter((arg) => arg.array)
      .map(
        ({ name }) =>
          `if (${name} !== null && $need.${name} !== null && ${name}.length < $need.${name}) throw $short('${name}', ${name}.length, $need.${name});`,
      ),
    'const $why = $spec.invalid?.($named);',
    'if ($why) throw $rule($why);',
    `return $fn(${params});`,
  ];
  const make = new Function(
    '$spec',
    '$fn',
    '$fallback',
    '$invalid',
    '$short',
    '$rule',
    `return function ${kernel}(${params}) {\n  ${body.join('\n  ')}\n};`,
  );
  return make(
    spec,
    fn,
    fallback,
    (i: number, v: unknown) => invalidValue(backend, kernel, decls[i], v),
    (name: string, has: number, min: number) =>
      new RangeError(`${backend} kernel ${kernel}: ${name} has ${has} elements, needs ${min}`),
    (why: string) => new RangeError(`${backend} kernel ${kernel}: ${why}`),
  );
}

/**
 * `impl`'s kernels, each behind its checks (see `checked`); the kernels that
 * have a `fallback` send calls with non-float32 arrays there.
 */
export function withArgChecks(
  impl: AbiFunctions,
  fallback: Partial<Record<KernelName, unknown>> = {},
  backend = 'native',
): AbiFunctions {
  const out: Record<string, AnyFunction> = {};
  for (const name of Object.keys(KERNEL_ABI) as KernelName[]) {
    out[name] = checked(
      backend,
      name,
      KERNEL_ABI[name],
      impl[name] as AnyFunction,
      fallback[name] as AnyFunction | undefined,
    );
  }
  return out as AbiFunctions;
}

/** Each array argument's minimum length for one call (null: any): what a glue layer copies. */
export function minLengths(kernel: KernelName, args: ArrayLike<unknown>): Record<string, number | null> {
  const spec: KernelSpec = KERNEL_ABI[kernel],
    named: Record<string, unknown> = {};
  abiArgs(spec).forEach((arg, i) => (named[arg.name] = args[i]));
  return spec.minLengths(named as never);
}

/**
 * Throws unless `native` (the addon's kernelSignatures: kinds deduced from the
 * C++ parameter types) declares exactly the kernels and kinds of `table`.
 */
export function verifyKernelSignatures(
  native: Record<string, string> | undefined,
  table: Record<string, KernelSpec> = KERNEL_ABI,
  build: { what: string; rebuild: string } = { what: 'the native addon', rebuild: 'npx node-gyp rebuild' },
): void {
  if (!native)
    throw new Error(`hsm: ${build.what} exports no kernelSignatures; it is out of date, rebuild it (${build.rebuild})`);
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(table)) {
    const want = abiSignature(spec);
    if (!(name in native)) problems.push(`${name}: in src/backend/kernel-abi.ts but not in ${build.what}`);
    else if (native[name] !== want)
      problems.push(`${name}: ${build.what} takes (${native[name]}), kernel-abi.ts declares (${want})`);
  }
  for (const name of Object.keys(native))
    if (!(name in table)) problems.push(`${name}: in ${build.what} but not in src/backend/kernel-abi.ts`);
  if (problems.length) {
    throw new Error(
      `hsm: ${build.what} and src/backend/kernel-abi.ts disagree (rebuild with ${build.rebuild}, or fix native/kernel_list.h or the table):\n  ${problems.join('\n  ')}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Compile time: every kernel not adapted by hand takes exactly the arguments of
// its `Kernels` method (float32 arrays widened to FloatArray, optional flags
// required), so the table and the interface cannot drift apart silently.
// ---------------------------------------------------------------------------
type Widen<T> = T extends Float32Array ? FloatArray : T;
type AsKernelsArgs<T> = { [I in keyof T]: Widen<T[I]> };
type Same<X, Y> = [X] extends [Y] ? ([Y] extends [X] ? true : false) : false;
type MatchesKernels<K extends KernelName> = K extends keyof Kernels
  ? Same<AsKernelsArgs<Parameters<AbiFunctions[K]>>, Required<Parameters<Kernels[K]>>> extends true
    ? Same<ReturnType<AbiFunctions[K]>, ReturnType<Kernels[K]>> extends true
      ? unknown
      : { returnDiffersFromKernels: K }
    : { argsDifferFromKernels: K }
  : { notInKernels: K };

KERNEL_ABI satisfies { [K in DirectKernel]: MatchesKernels<K> };
