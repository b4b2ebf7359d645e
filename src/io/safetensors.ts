import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

/**
 * Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON
 * header, then raw little-endian tensor bytes). Hand-written because it is a
 * page of code and the npm packages for it target browsers or Hugging Face hubs.
 */
export type SafeTensorArray = Float32Array | Float64Array | Int32Array;

export interface SafeTensor {
  dtype: 'F32' | 'F64' | 'I32';
  shape: number[];
  data: SafeTensorArray;
}

export interface SafeTensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const ELEMENT_BYTES = { F32: 4, F64: 8, I32: 4 } as const;

export function parseSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafeTensorsFile {
  if (bytes.length < 8) throw new Error(`${source}: too short to be a safetensors file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8)
    throw new Error(`${source}: header length ${headerLength} exceeds the file size (truncated file?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch {
    throw new Error(`${source}: header is not valid JSON (corrupt file?)`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in ELEMENT_BYTES)) throw new Error(`${source}: tensor ${name} has unsupported dtype ${dtype}`);
    const d = dtype as keyof typeof ELEMENT_BYTES;
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * ELEMENT_BYTES[d] || dataStart + end > bytes.length) {
      throw new Error(`${source}: tensor ${name} does not fit the file (truncated or corrupt)`);
    }
    // Copy into a fresh, aligned buffer (the file's offsets need not be aligned).
    // (Buffer.slice would return a view into the whole file, so copy explicitly.)
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    const data =
      d === 'F32'
        ? new Float32Array(raw.buffer)
        : d === 'F64'
          ? new Float64Array(raw.buffer)
          : new Int32Array(raw.buffer);
    tensors.set(name, { dtype: d, shape, data });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafeTensorsFile {
  return parseSafetensors(readFileSync(path), path);
}

const DTYPE_OF = (data: SafeTensorArray): SafeTensor['dtype'] =>
  data instanceof Float64Array ? 'F64' : data instanceof Int32Array ? 'I32' : 'F32';

/** Serialises tensors (in the given order) and string metadata to safetensors bytes. */
export function serializeSafetensors(
  tensors: Iterable<readonly [string, { readonly shape: readonly number[]; readonly data: SafeTensorArray }]>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: DTYPE_OF(data), shape: [...shape], data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data to 8 bytes
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(Buffer.byteLength(json)), true);
  return [head, Buffer.from(json, 'utf8'), ...blobs];
}

/** Writes a safetensors file atomically (temporary file + rename). */
export function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, { readonly shape: readonly number[]; readonly data: SafeTensorArray }]>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
