// Turns a --corpus argument (a built-in name, a file or a folder) into text.
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadShakespeare, loadSotu, type Corpus } from './builtin-corpora.js';
import { UserError } from '../errors.js';
import { decodeStrictUtf8 } from './utf8.js';

export type { Corpus } from './builtin-corpora.js';

export const DEFAULT_CORPUS = 'sotu';
export const BUILTIN_CORPORA = ['sotu', 'shakespeare'] as const;

const WHAT_TO_PASS = `pass a text file, a folder of .txt files, or one of: ${BUILTIN_CORPORA.join(', ')}`;

/**
 * Loads a corpus. Built-in names win over same-named files; write `./sotu`
 * to mean a file. Throws UserError for anything the user can fix.
 */
export function loadCorpus(spec: string = DEFAULT_CORPUS): Corpus {
  const corpus = spec === 'sotu' ? loadSotu() : spec === 'shakespeare' ? loadShakespeare() : loadPath(spec);
  if (corpus.text.trim() === '') {
    throw new UserError(`corpus ${corpus.source} is empty (no text besides whitespace); ${WHAT_TO_PASS}`);
  }
  return corpus;
}

function loadPath(spec: string): Corpus {
  if (spec.trim() === '') throw new UserError(`no corpus given; ${WHAT_TO_PASS}`);
  const path = resolve(spec);
  const stats = statOrNull(path);
  if (!stats) throw new UserError(`corpus file ${path} does not exist; ${WHAT_TO_PASS}`);
  const name = basename(path).replace(/\.txt$/i, '');
  if (!stats.isDirectory()) return { name, text: readText(path), source: path };

  const files = listTextFiles(path);
  if (files.length === 0) throw new UserError(`corpus folder ${path} contains no .txt files; ${WHAT_TO_PASS}`);
  return { name, text: files.map(readText).join('\n\n'), source: path };
}

/** .txt files under `dir` at any depth, sorted by path so the text is reproducible. */
function listTextFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (err) {
    throw new UserError(`cannot list corpus folder ${dir} (${errorCode(err)}); check its permissions`);
  }
  return entries
    .filter((rel) => /\.txt$/i.test(rel) && statOrNull(join(dir, rel))?.isFile())
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((rel) => join(dir, rel));
}

function readText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UserError(`cannot read corpus file ${path} (${errorCode(err)}); check that it is a readable file`);
  }
  return decodeStrictUtf8(bytes, `corpus file ${path}`);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}
