import { z } from 'zod';
import { describeZodError } from '../errors.js';

/**
 * The safetensors format, in memory (no file access, so the browser bundle uses it
 * too; safetensors.ts reads and writes files) (an 8-byte little-endian header length, a JSON
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

/** One tensor's header entry. Offsets are relative to the end of the header. */
const EntrySchema = z
  .object({
    dtype: z.enum(['F32', 'F64', 'I32']),
    shape: z
      .array(
        z
          .number()
          .int()
          .nonnegative()
          .max(2 ** 31),
      )
      .max(8),
    data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  })
  .strict();
const MetadataSchema = z.record(z.string());

/**
 * Parses and checks a safetensors file: the header is JSON of the expected
 * shape, every tensor's byte length is its element count × dtype size, and
 * the tensors tile the data section exactly, in some order: no overlaps, no
 * gaps, nothing before the first or after the last. Any problem is an Error
 * naming the tensor (the checkpoint reader turns it into a one-line message).
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafeTensorsFile {
  if (bytes.length < 8) throw new Error(`${source}: too short to be a safetensors file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8))
    throw new Error(`${source}: header length ${headerLength} exceeds the file size (truncated file?)`);
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch {
    throw new Error(`${source}: header is not valid JSON (corrupt file?)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new Error(`${source}: header is not a JSON object (corrupt file?)`);
  let metadata: Record<string, string> = {};
  const entries: [string, z.infer<typeof EntrySchema>][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      const m = MetadataSchema.safeParse(entry);
      if (!m.success) throw new Error(`${source}: __metadata__ must map names to strings`);
      metadata = m.data;
      continue;
    }
    const e = EntrySchema.safeParse(entry);
    if (!e.success) throw new Error(`${source}: tensor "${name}": ${describeZodError(e.error)}`);
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = e.data;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end - begin !== count * ELEMENT_BYTES[dtype])
      throw new Error(
        `${source}: tensor "${name}" spans ${end - begin} bytes but its shape [${shape}] of ${dtype} needs ${count * ELEMENT_BYTES[dtype]}`,
      );
    entries.push([name, e.data]);
  }
  // The tensors must tile the data section: sorted by offset, each begins where the previous ended.
  const dataLength = bytes.length - dataStart;
  let cursor = 0;
  for (const [
    name,
    {
      data_offsets: [begin, end],
    },
  ] of [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
    if (begin !== cursor)
      throw new Error(
        `${source}: tensor "${name}" starts at byte ${begin} of the data, not ${cursor} (${begin < cursor ? 'overlaps another tensor' : 'leaves a gap'}; corrupt file?)`,
      );
    cursor = end;
  }
  if (cursor !== dataLength)
    throw new Error(
      `${source}: the tensors cover ${cursor} bytes of data but the file holds ${dataLength} (${cursor > dataLength ? 'truncated' : 'trailing bytes'}; corrupt file?)`,
    );
  const tensors = new Map<string, SafeTensor>();
  for (const [
    name,
    {
      dtype,
      shape,
      data_offsets: [begin, end],
    },
  ] of entries) {
    // Copy into a fresh, aligned buffer (the file's offsets need not be aligned; a view would also pin the whole file).
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    const data =
      dtype === 'F32'
        ? new Float32Array(raw.buffer)
        : dtype === 'F64'
          ? new Float64Array(raw.buffer)
          : new Int32Array(raw.buffer);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}

/** The tensor bytes of a safetensors file (everything after the header), e.g. to checksum them. */
export function dataSection(bytes: Uint8Array): Uint8Array {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return bytes.subarray(8 + headerLength);
}

/** The safetensors dtype of an array. */
export const dtypeOf = (data: SafeTensorArray): SafeTensor['dtype'] =>
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
    header[name] = { dtype: dtypeOf(data), shape: [...shape], data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  const encoder = new TextEncoder();
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + encoder.encode(json).length) % 8)) % 8); // align the data to 8 bytes
  const text = encoder.encode(json);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  return [head, text, ...blobs];
}
