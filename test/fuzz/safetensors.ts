// Safetensors bytes: split a file into header and data, join them back, and edit a header, a bit or a float.
import { clone } from './json.js';

export interface Entry {
  dtype: unknown;
  shape: unknown;
  data_offsets: unknown;
  [k: string]: unknown;
}

export interface Safetensors {
  headerLength: number;
  header: Record<string, unknown>;
  data: Buffer;
  /** Tensor names sorted by their first byte. */
  names: string[];
}

export function splitSafetensors(buf: Buffer): Safetensors {
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const names = Object.keys(header)
    .filter((k) => k !== '__metadata__')
    .sort((a, b) => offsets(header, a)[0] - offsets(header, b)[0]);
  return { headerLength, header, data: buf.subarray(8 + headerLength), names };
}

export const offsets = (header: Record<string, unknown>, name: string) =>
  (header[name] as { data_offsets: [number, number] }).data_offsets;

/** Header text (used as given, or JSON of `header`), padded to 8 bytes, then the data. */
export function joinSafetensors(header: unknown, data: Buffer, headerText?: string): Buffer {
  let json = headerText ?? JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), data]);
}

/** Edits a copy of the header and re-serialises it with the same data. */
export function editHeader(st: Safetensors, edit: (h: Record<string, unknown>) => void, data = st.data): Buffer {
  const h = clone(st.header);
  edit(h);
  return joinSafetensors(h, data);
}

export function flipBit(buf: Buffer, pos: number, bit: number): Buffer {
  const out = Buffer.from(buf);
  out[pos] ^= 1 << bit;
  return out;
}

/** Writes a float32 into element `index` of tensor `name`. */
export function setFloat(st: Safetensors, name: string, index: number, value: number): Buffer {
  const data = Buffer.from(st.data);
  data.writeFloatLE(value, offsets(st.header, name)[0] + 4 * index);
  return joinSafetensors(st.header, data);
}

export const elementCount = (st: Safetensors, name: string) => {
  const [b, e] = offsets(st.header, name);
  return (e - b) / 4;
};
