// Mutations of metrics.jsonl: truncated, garbage, reordered, repeated or odd records, and the file replaced.
import { randInt, shuffle, subRand } from './random.js';
import { METRICS, type Candidate, type FileEdit, type RunFiles } from './types.js';

export function metricsFamily(files: RunFiles, seed: number): Candidate[] {
  const r = subRand(seed, 'metrics');
  const text = files[METRICS].toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim());
  const m = (what: string, b: FileEdit): Candidate => ({
    description: `${METRICS} ${what}`,
    make: () => ({ [METRICS]: b }),
  });
  const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
  const cutLast = lastStart + 1 + randInt(r, text.length - lastStart - 2);
  const cutFirst = 1 + randInt(r, lines[0].length - 1);
  return [
    ...shuffle(r, [
      m(`truncated mid-way through its last line (at ${cutLast})`, Buffer.from(text.slice(0, cutLast))),
      m(`truncated mid-way through its first line (at ${cutFirst})`, Buffer.from(text.slice(0, cutFirst))),
      m('with a garbage line appended', Buffer.from(text + 'garbage\n')),
      m(
        'with a garbage line between two records',
        Buffer.from([lines[0], '{"step": oops', ...lines.slice(1)].join('\n') + '\n'),
      ),
      m('with its lines in reverse order (steps out of order)', Buffer.from([...lines].reverse().join('\n') + '\n')),
      m('with a line repeated', Buffer.from([...lines, lines[lines.length - 1]].join('\n') + '\n')),
      m(
        'with a record of step 30 (after the checkpoint)',
        Buffer.from(text + lines[lines.length - 1].replace(/"step":\d+/, '"step":30') + '\n'),
      ),
      m('with a record whose step is "abc"', Buffer.from(text + lines[0].replace(/"step":\d+/, '"step":"abc"') + '\n')),
      m('with a record whose step is null', Buffer.from(text + lines[0].replace(/"step":\d+/, '"step":null') + '\n')),
      m('with NUL bytes', Buffer.concat([files[METRICS], Buffer.alloc(16)])),
      m('with CRLF line ends', Buffer.from(text.replace(/\n/g, '\r\n'))),
      m('empty', Buffer.alloc(0)),
      m('removed', null),
      m('a directory', 'dir'),
      m('holding binary garbage', Buffer.from(Array.from({ length: 64 }, () => randInt(r, 256)))),
    ]),
    // After the shuffle, so that the mutants taken first stay the same.
    m('with its first line deleted (a gap before a later line)', Buffer.from(lines.slice(1).join('\n') + '\n')),
  ];
}
