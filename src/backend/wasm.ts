/**
 * The WebAssembly backend: the kernels of native/kernels/ compiled a fourth
 * time, for wasm32 with SIMD128 (scripts/build-wasm.cjs), behind the same flat
 * ABI as the native addon (kernel-abi.ts). This file has no Node imports, so
 * the browser bundle uses it as it is; wasm-file.ts loads the module from disk
 * in Node.
 *
 * Arrays stay ordinary JavaScript typed arrays. Each call copies its arrays
 * into the module's memory (only the elements the kernel reads: kernel-abi.ts's
 * minimum lengths) and the ones it writes back out. Why copy rather than keep
 * tensors inside the module's memory: growing that memory detaches every view
 * of it, so a tensor living there would silently become empty. A copy costs one
 * pass over the data, small beside the kernels that do real work (a matmul reads
 * each element many times). Matrix-vector products (decoding) read each weight
 * once, so there the copy costs as much as the product: `pin` keeps chosen
 * arrays (a model's weights) resident in the module's memory, and calls use
 * that copy in place. A kernel that writes a pinned array (AdamW) writes the
 * resident copy and the array alike; code that writes a pinned array itself
 * must unpin it first, or the module keeps computing with the old values.
 */
import { KERNEL_ABI, abiArgs, verifyKernelSignatures, type AbiFunctions, type KernelName } from './kernel-abi.js';
import type { Kernels } from './kernels.js';
import { kernelsFromAbi } from './abi-kernels.js';

/** What native/wasm/exports.cc and the linker export. */
interface WasmExports {
  memory: WebAssembly.Memory;
  __indirect_function_table: WebAssembly.Table;
  _initialize(): void;
  kernelTable(): number;
  kernelSignatures(): number;
  allocate(bytes: number): number;
  release(pointer: number): void;
}

export type WasmKernels = Kernels & {
  /** Bytes of the module's memory (it grows to fit the largest call so far). */
  memoryBytes(): number;
  /** Keeps these arrays resident in the module's memory (see above); pinning one twice is a no-op. */
  pin(arrays: readonly Float32Array[]): void;
  /** Frees the resident copies; the arrays themselves stay as they are. */
  unpin(arrays: readonly Float32Array[]): void;
};

/** Arrays pinned in the module's memory, by identity, with their addresses there. */
class Resident {
  readonly at = new Map<Float32Array, number>();

  constructor(
    private readonly wasm: WasmExports,
    private readonly scratch: Scratch,
  ) {}

  pin(arrays: readonly Float32Array[]): void {
    for (const array of arrays) {
      if (this.at.has(array)) continue;
      const pointer = this.wasm.allocate(array.byteLength);
      if (!pointer) throw new RangeError(`hsm wasm: out of memory pinning ${array.byteLength} bytes`);
      this.scratch.refresh();
      this.scratch.f32.set(array, pointer >> 2);
      this.at.set(array, pointer);
    }
  }

  unpin(arrays: readonly Float32Array[]): void {
    for (const array of arrays) {
      const pointer = this.at.get(array);
      if (pointer === undefined) continue;
      this.wasm.release(pointer);
      this.at.delete(array);
    }
  }
}

const align16 = (bytes: number) => (bytes + 15) & ~15;

/** One growing block of the module's memory that every call copies its arrays into. */
class Scratch {
  private pointer = 0;
  private capacity = 0;
  private buffer: ArrayBuffer | null = null;
  f32 = new Float32Array(0);
  i32 = new Int32Array(0);

  constructor(private readonly wasm: WasmExports) {}

  /** A block of at least `bytes`, 16-byte aligned. */
  reserve(bytes: number): number {
    if (bytes > this.capacity) {
      if (this.pointer) this.wasm.release(this.pointer);
      const capacity = Math.max(bytes, Math.ceil(this.capacity * 1.5), 1 << 16);
      this.pointer = this.wasm.allocate(capacity);
      if (!this.pointer) {
        this.capacity = 0;
        throw new RangeError(`hsm wasm: out of memory (a kernel call needs ${bytes} bytes of the module's memory)`);
      }
      this.capacity = capacity;
    }
    this.refresh();
    return this.pointer;
  }

  /** New views after the memory grew (a kernel's own scratch can grow it too). */
  refresh(): void {
    const buffer = this.wasm.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.f32 = new Float32Array(buffer);
      this.i32 = new Int32Array(buffer);
    }
  }
}

type WasmFunction = (...args: (number | bigint)[]) => number | undefined;
type Value = Float32Array | Int32Array | number | boolean | null;

/** One kernel of the ABI as a JavaScript function that copies its arrays in and out. */
function glue(
  name: KernelName,
  fn: WasmFunction,
  scratch: Scratch,
  resident: Resident,
): (...values: Value[]) => unknown {
  const spec = KERNEL_ABI[name] as unknown as {
    minLengths(named: Record<string, Value>): Record<string, number | null>;
  };
  const args = abiArgs(KERNEL_ABI[name]);
  const call: (number | bigint)[] = new Array(args.length);
  const pointers: number[] = new Array(args.length).fill(0);
  const counts: number[] = new Array(args.length).fill(0);
  return (...values: Value[]) => {
    const named: Record<string, Value> = {};
    for (let i = 0; i < args.length; i++) named[args[i].name] = values[i];
    const need = spec.minLengths(named);
    let bytes = 0;
    for (let i = 0; i < args.length; i++) {
      const value = values[i];
      if (!args[i].array || value === null) continue;
      const array = value as Float32Array | Int32Array;
      counts[i] = Math.min(array.length, need[args[i].name] ?? array.length);
      pointers[i] = (array instanceof Float32Array && resident.at.get(array)) || 0;
      if (!pointers[i]) bytes += align16(counts[i] * 4);
    }
    let at = bytes ? scratch.reserve(bytes) : 0;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i],
        value = values[i];
      if (arg.array) {
        if (value === null) {
          call[i] = 0;
          continue;
        }
        if (pointers[i]) {
          call[i] = pointers[i]; // pinned: used in place
          continue;
        }
        const array = value as Float32Array | Int32Array,
          count = counts[i];
        const heap = arg.array === 'f32' ? scratch.f32 : scratch.i32;
        heap.set(count === array.length ? array : array.subarray(0, count), at >> 2);
        call[i] = pointers[i] = at;
        at += align16(count * 4);
      } else if (arg.kind === 'int') call[i] = BigInt(value as number);
      else if (arg.kind === 'bool') call[i] = value ? 1 : 0;
      else call[i] = value as number;
    }
    const result = fn(...call);
    scratch.refresh();
    for (let i = 0; i < args.length; i++) {
      if (!args[i].written || values[i] === null) continue;
      const start = pointers[i] >> 2;
      (values[i] as Float32Array).set(scratch.f32.subarray(start, start + counts[i]));
    }
    return result;
  };
}

function cString(memory: WebAssembly.Memory, pointer: number): string {
  const bytes = new Uint8Array(memory.buffer);
  let end = pointer;
  while (bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(pointer, end));
}

/** The backend from a compiled module (synchronous: Node, or a Web Worker). */
export function wasmKernelsFromModule(module: WebAssembly.Module): WasmKernels {
  const wasm = new WebAssembly.Instance(module, {}).exports as unknown as WasmExports;
  wasm._initialize();
  // "name: kinds -> return" per kernel, in the order of the table's entries.
  const lines = cString(wasm.memory, wasm.kernelSignatures()).trim().split('\n');
  const signatures = Object.fromEntries(lines.map((line) => line.split(/: (.*)/s, 2) as [string, string]));
  verifyKernelSignatures(signatures, KERNEL_ABI, { what: 'the WebAssembly module', rebuild: 'npm run build' });
  // KernelTable: the ISA name's address, then one function-table index per kernel.
  const entries = new Uint32Array(wasm.memory.buffer, wasm.kernelTable() + 4, lines.length);
  const scratch = new Scratch(wasm);
  const resident = new Resident(wasm, scratch);
  const abi: Record<string, unknown> = {};
  lines.forEach((line, i) => {
    const name = line.slice(0, line.indexOf(':')) as KernelName;
    abi[name] = glue(name, wasm.__indirect_function_table.get(entries[i]) as WasmFunction, scratch, resident);
  });
  return {
    ...kernelsFromAbi('wasm', abi as AbiFunctions),
    memoryBytes: () => wasm.memory.buffer.byteLength,
    pin: (arrays) => resident.pin(arrays),
    unpin: (arrays) => resident.unpin(arrays),
  };
}

/** The backend from the module's bytes or a fetch of them (asynchronous compile: a page's main thread allows no other). */
export async function loadWasmKernels(source: BufferSource | Response | PromiseLike<Response>): Promise<WasmKernels> {
  const resolved = await source;
  if (resolved instanceof Response && !resolved.ok) {
    throw new Error(`hsm wasm: fetching ${resolved.url} failed with HTTP ${resolved.status}`);
  }
  const bytes = resolved instanceof Response ? await resolved.arrayBuffer() : resolved;
  return wasmKernelsFromModule(await WebAssembly.compile(bytes));
}
