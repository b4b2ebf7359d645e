// Bad input, bounded: about 55 damaged run folders (one per mutation family, a second for six of
// them, and some chosen for what they damage) and 41 invalid command lines over every
// command. Each must end in a one-line "hsm: …" error with exit code 2, or be accepted with nothing
// changed; never a stack trace, a hang, a multi-line error or a damaged file silently accepted.
// tools/fuzz/campaign.mjs runs the full table (several hundred mutants, 450 command lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { instantiate, mutantArgs, referenceTrainArgs } from './fuzz/args.js';
import { OK_CLASSES, classify, repairedLog, stderrLines, type CaseClass } from './fuzz/classify.js';
import { cliCases, type CliCase } from './fuzz/cli-cases.js';
import { makeCliFixtures } from './fuzz/cli-fixtures.js';
import { fingerprint } from './fuzz/fingerprint.js';
import { generateMutants, materialize, readRunFiles } from './fuzz/mutants.js';
import { pool } from './fuzz/pool.js';
import { runCli, type RunResult } from './fuzz/run-cli.js';
import type { FuzzCommand, Mutant } from './fuzz/types.js';
import { CLI, smallCorpus, tmp } from './helpers.js';

const SEED = 1;
/** A hang is a failure; 20 s is ten times what any of these commands needs. */
const TIMEOUT_MS = 20_000;
/** Two CLI processes at a time (the machines that run the tests have two cores). */
const CONCURRENCY = 2;

/** Families that get a second mutant (the first of each family is always taken). */
const TWICE = new Set(['config:train', 'config:file', 'model:metadata', 'optimizer:metadata', 'staged', 'metrics']);

/** The command lines checked here: [family, an argument the line contains] (the first such line of the table). */
const LINES: [string, string?][] = [
  ['train --max-iters', '0'],
  ['train --batch-size', '1e12'],
  ['train --context', '10000000'],
  ['train --n-head', '1.5'],
  ['train --dropout', '1.5'],
  ['train --eval-iters', '-1'],
  ['train --budget-flops', '0'],
  ['train --plan', 'hsm:nope'],
  ['train --plan', 'hsm:conv[k=0]*2'],
  ['train --plan', 'hsm:conv[k=1000000]*2'],
  ['train --plan', 'hsm:ab[proj=5]*2'],
  ['train --plan', 'attn*100000'],
  ['train --plan', '(attn'],
  ['train --match-params', 'attn*1000'],
  ['train --schedule', '[0]'],
  ['train --positions', 'maybe'],
  ['train --data', 'empty-dir'],
  ['train --data', 'empty.txt'],
  ['train --out', 'regular-file'],
  ['train --out', '/proc/hsm-fuzz/run'],
  ['train --config', 'not.json'],
  ['train --resume', '/nonexistent/run'],
  ['train flags', '--foo'],
  ['eval --iters', '-1'],
  ['eval --batch-size', '0'],
  ['eval --ckpt'],
  ['eval --data', 'empty.txt'],
  ['generate --top-k', '1.5'],
  ['generate --top-p', '0'],
  ['generate --max-tokens', '1.5'],
  ['generate --prompt', ''],
  ['info --vocab-size', '-1'],
  ['info --context', '10000000'],
  ['info --match-params', 'attn*1000'],
  ['compare --grid', 'nope'],
  ['bench kernels --threads', '0'],
  ['bench decode --plans', 'hsm:nope'],
  ['train flags', 'extra'],
  ['eval flags', 'extra'],
  ['train --preset', ''],
  ['compare --grid', ''],
];

/** Mutants the campaign found mishandled, taken besides: [family, a phrase of the description]. */
const EXTRA_MUTANTS: [string, string][] = [
  ['model:whole', 'is a directory'],
  ['optimizer:whole', 'is a directory'],
  ['optimizer:dtype', 'set to "I32"'],
  ['config:tokenizer', 'with an unknown key'],
  // Files of two runs, an edited setting the run keeps, and damage in files without a checksum.
  ['config:train', 'gradAccum set to 2'],
  ['config:file', 'runId of another run'],
  ['model:unchecked', 'run_id of another run'],
  ['model:unchecked', 'set to 3e38'],
  ['optimizer:unchecked', 'rng set to [0,0,0,0]'],
  ['optimizer:unchecked', 'optimizerStep set to'],
  ['optimizer:unchecked', 'reversed (same element count)'],
  ['optimizer:unchecked', 'negative second moment'],
  // A damaged staged state after the commit, and a deleted log line.
  ['staged', 'with a flipped data bit'],
  ['metrics', 'first line deleted'],
];

function pickMutants(all: Mutant[]): Mutant[] {
  const taken = new Map<string, number>();
  return all.filter((m) => {
    if (EXTRA_MUTANTS.some(([family, phrase]) => m.family === family && m.description.includes(phrase))) return true;
    if (m.expect === 'valid-edit') return false; // a well-formed edit may change the outcome
    const n = taken.get(m.family) ?? 0;
    if (n >= (TWICE.has(m.family) ? 2 : 1)) return false;
    taken.set(m.family, n + 1);
    return true;
  });
}

function pickLines(all: CliCase[]): CliCase[] {
  return LINES.map(([family, value]) => {
    const found = all.find(
      (c) => c.family === family && (value === undefined || c.args.some((a) => a === value || a.endsWith(`/${value}`))),
    );
    assert.ok(found, `no command line in the table for ${family} ${value ?? ''}`);
    return found;
  });
}

interface Outcome {
  label: string;
  cls: CaseClass;
  res: RunResult;
  repro: string;
}

const describe = (o: Outcome) =>
  `${o.label}\n  class ${o.cls}, exit ${o.res.code}${o.res.signal ? ` (${o.res.signal})` : ''}, ` +
  `${stderrLines(o.res.stderr).length} stderr lines, peak ${o.res.maxRssKb ?? '?'} KiB\n` +
  `  stderr: ${o.res.stderr.trim().slice(0, 600)}\n  repro: ${o.repro}`;

test(
  'bad input (bounded fuzz): every damaged folder and invalid line ends in one line and exit 2, or changes nothing',
  {
    timeout: 240_000,
  },
  async (t) => {
    const root = tmp('fuzz');
    const corpus = smallCorpus(root);
    const run = (args: string[], rss: string) =>
      runCli(CLI, args, { timeoutMs: TIMEOUT_MS, rssFile: join(root, `${rss}.rss`) });

    // The reference run, and what eval and a resume to step 25 make of it.
    const ref = join(root, 'ref');
    const trained = await run(referenceTrainArgs(corpus, ref), 'ref');
    assert.equal(trained.code, 0, `the reference run trains: ${trained.stderr}`);
    const refResume = join(root, 'ref-resume');
    cpSync(ref, refResume, { recursive: true });
    const reference: Partial<Record<FuzzCommand, string>> = {};
    await pool(['eval', 'train'] as FuzzCommand[], CONCURRENCY, async (command) => {
      const dir = command === 'train' ? refResume : ref;
      const r = await run(mutantArgs(command, dir), `ref-${command}`);
      assert.equal(r.code, 0, `reference ${command}: ${r.stderr}`);
      reference[command] = fingerprint(command, r, dir);
    });

    const mutants = pickMutants(generateMutants(readRunFiles(ref), SEED, 1000));
    const lines = pickLines(cliCases(makeCliFixtures(join(root, 'cli'), ref, corpus)));
    type Job = { mutant: Mutant } | { line: CliCase };
    const jobs: Job[] = [...mutants.map((mutant) => ({ mutant })), ...lines.map((line) => ({ line }))];

    const outcomes = await pool(jobs, CONCURRENCY, async (job, i): Promise<Outcome> => {
      if ('mutant' in job) {
        const m = job.mutant;
        // The command that reads what was damaged: the weights and configuration are read by eval, the rest by a resume.
        const command: FuzzCommand = m.reads.includes('eval') ? 'eval' : 'train';
        const dir = join(root, `mutant-${i}`);
        materialize(ref, m, dir);
        const args = mutantArgs(command, dir);
        const res = await run(args, `job-${i}`);
        const same = res.code === 0 && fingerprint(command, res, dir) === reference[command];
        materialize(ref, m, dir); // leave it as generated, for the repro command
        return {
          label: `${command} on ${m.id}: ${m.description}`,
          cls: classify(res, { kind: 'mutant', expect: m.expect, same, repairedLog: repairedLog(m, res) }),
          res,
          repro:
            command === 'train'
              ? `cp -r ${dir} /tmp/repro && node ${CLI} ${mutantArgs('train', '/tmp/repro').join(' ')}`
              : `node ${CLI} ${args.join(' ')}`,
        };
      }
      const c = job.line;
      const args = instantiate(c.args, join(root, `scratch-${i}`), ref);
      const res = await run(args, `job-${i}`);
      return {
        label: `${c.id}${c.note ? ` (${c.note})` : ''}: hsm ${args.join(' ')}`,
        cls: classify(res, { kind: 'line', expect: c.expect }),
        res,
        repro: `node ${CLI} ${args.map((a) => JSON.stringify(a)).join(' ')}`,
      };
    });

    for (const o of outcomes) {
      await t.test(o.label.split('\n')[0].slice(0, 160), () => {
        assert.ok(OK_CLASSES.has(o.cls), describe(o));
      });
    }
  },
);
