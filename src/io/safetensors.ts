/** safetensors files: read (checked, see parseSafetensors) and written atomically. The format itself: safetensors-format.ts. */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import {
  parseSafetensors,
  serializeSafetensors,
  type SafeTensorArray,
  type SafeTensorsFile,
} from './safetensors-format.js';

export * from './safetensors-format.js';

export function readSafetensors(path: string): SafeTensorsFile {
  return parseSafetensors(readFileSync(path), path);
}

/** Writes a safetensors file atomically (temporary file + rename). */
export function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, { readonly shape: readonly number[]; readonly data: SafeTensorArray }]>,
  metadata: Record<string, string> = {},
  crashLabel?: string,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata), crashLabel);
}
