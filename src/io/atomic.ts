import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { crashPoint } from './crash-point.js';

/**
 * Writes a file so that readers see either the old or the new content, never
 * a partial one: write a temporary file beside it, fsync, then rename over
 * the target (rename is atomic within one file system).
 */
export function writeFileAtomic(
  path: string,
  chunks: Uint8Array | string | (Uint8Array | string)[],
  crashLabel?: string,
): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  if (crashLabel) crashPoint(`${basename(path)}:written@${crashLabel}`);
  renameSync(tmp, path);
}
