// The quick start (`npm start`): the HSM preset, its GPT twin, the committed reference runs
// and the comparison `hsm train` prints at the end of a run. No full training here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCorpus } from '../src/data/corpus.js';
import { createTokenizer } from '../src/data/tokenizers.js';
import { Transformer } from '../src/model/transformer.js';
import { parseTrainConfig, presetConfig, presetReference, PRESETS, resolveModelConfig } from '../src/train/config.js';
import { budgetDifference, compareWithReference, formatComparison } from '../src/train/reference-comparison.js';
import { readRunSummary, summarizeRun, writeRunSummary, type RunSummary } from '../src/train/run-summary.js';
import { projectRoot } from '../src/project-root.js';
import { cli, tmp } from './helpers.js';

const HSM = 'sotu-hsm-quick',
  GPT = 'sotu-char-quick';

test("the quick-start preset is a parameter-matched HSM that sees the whole context, on its GPT twin's budget", () => {
  const hsm = parseTrainConfig(presetConfig(HSM), HSM);
  const gpt = parseTrainConfig(presetConfig(GPT), GPT);
  assert.match(hsm.model.plan ?? '', /^hsm:/);
  assert.equal(gpt.model.plan, undefined, 'the twin is the plain GPT (attn*4)');
  assert.equal(hsm.model.matchParams, 'attn*4');
  // Same data, budget, schedule and evaluation: only the model differs.
  const { model: hm, out: ho, ...hRest } = hsm;
  const { model: gm, out: go, ...gRest } = gpt;
  assert.deepEqual(hRest, gRest);
  assert.equal(hm.blockSize, gm.blockSize);
  assert.equal(hm.nEmbd, gm.nEmbd);
  assert.notEqual(ho, go, 'the two presets train into different folders');

  const vocab = createTokenizer('char', loadCorpus(hsm.data).text).vocabSize;
  const hsmModel = new Transformer(resolveModelConfig(hm, vocab));
  const gptModel = new Transformer(resolveModelConfig(gm, vocab));
  const ratio = hsmModel.params.count / gptModel.params.count;
  assert.ok(Math.abs(ratio - 1) < 0.01, `parameters ${hsmModel.params.count} vs GPT's ${gptModel.params.count}`);
  const rf = hsmModel.receptiveField();
  assert.ok(rf.complete && rf.field >= hm.blockSize, `receptive field ${rf.field} of ${hm.blockSize}`);

  const ref = presetReference(HSM);
  assert.ok(ref, 'the quick-start preset names its committed reference runs');
  assert.equal(ref.name, 'GPT');
  assert.equal(presetReference(GPT), undefined);
  assert.ok(!('reference' in presetConfig(HSM)), 'the reference is no training option');
  assert.ok(PRESETS[HSM].description.length > 0);
});

test('the committed reference runs are valid summaries of the two presets at their full budget', () => {
  const ref = presetReference(HSM)!;
  const root = projectRoot();
  const base = readRunSummary(join(root, ref.baseline));
  const own = readRunSummary(join(root, ref.own!));
  assert.ok('summary' in base, 'problem' in base ? base.problem : '');
  assert.ok('summary' in own, 'problem' in own ? own.problem : '');
  assert.equal(base.summary.preset, GPT);
  assert.equal(base.summary.plan, 'attn*4');
  assert.equal(own.summary.preset, HSM);
  assert.equal(own.summary.plan, parseTrainConfig(presetConfig(HSM)).model.plan);
  assert.equal(budgetDifference(own.summary, base.summary), null, 'measured on the same budget');
  assert.equal(base.summary.steps, parseTrainConfig(presetConfig(GPT)).maxIters);
  for (const s of [base.summary, own.summary]) {
    assert.match(String(s.provenance.command), /^hsm train --preset /);
    assert.match(String(s.provenance.commit), /^[0-9a-f]{40}$/);
  }
});

/** A summary as `hsm train --summary` writes it, with the numbers a test needs. */
function summary(
  preset: string,
  valLoss: number,
  tokensPerS: number,
  wallS: number,
  overrides: Record<string, unknown> = {},
): RunSummary {
  const cfg = parseTrainConfig({ ...presetConfig(preset), ...overrides });
  return summarizeRun(
    {
      cfg,
      preset,
      parameters: 822_528,
      step: cfg.maxIters,
      finalValLoss: valLoss,
      bestValLoss: valLoss,
      stepTokensPerS: [tokensPerS - 100, tokensPerS, tokensPerS + 500],
      elapsedS: wallS,
      backend: 'native',
      threads: 1,
    },
    { command: `hsm train --preset ${preset}`, commit: 'a'.repeat(40), cpu: 'AMD EPYC', cores: 2 },
  );
}

const PATHS = { name: 'GPT', path: 'docs/results/quickstart/gpt.json' };

test('a run summary: median tokens/s, tokens seen, the plan spelled out', () => {
  const s = summary(GPT, 1.623, 6600, 450);
  assert.equal(s.plan, 'attn*4');
  assert.equal(s.train_tokens_per_s, 6600, 'the median step, not the mean');
  assert.equal(s.tokens_seen, 3000 * 12 * 128);
  assert.equal(summary(HSM, 1.5, 1, 1).plan, parseTrainConfig(presetConfig(HSM)).model.plan);
});

test('the comparison with GPT: val loss from this run, speed ratio from the committed runs on one machine', () => {
  const gpt = summary(GPT, 1.623, 6600, 450);
  const committedHsm = summary(HSM, 1.55, 8000, 380);
  const run = summary(HSM, 1.552, 9100, 312);
  assert.deepEqual(
    formatComparison(
      run,
      { ...PATHS, summary: gpt },
      { path: 'docs/results/quickstart/hsm.json', summary: committedHsm },
    ),
    [
      "vs GPT (committed run, docs/results/quickstart/gpt.json): val loss 1.552 vs 1.623 (\u22120.071 nats), 1.21× GPT's training tokens/s (both committed runs, on one machine)",
      '  here: 9,100 training tokens/s, 5.2 min; committed runs on AMD EPYC, 1 thread: this model 8,000 tokens/s, 6.3 min; GPT 6,600 tokens/s, 7.5 min (docs/results/quickstart/hsm.json)',
    ],
  );
  // Without this model's committed run (or with another plan), the ratio is across machines and says so.
  const expectedAcross = [
    "vs GPT (committed run, docs/results/quickstart/gpt.json): val loss 1.552 vs 1.623 (\u22120.071 nats), 1.38× GPT's training tokens/s across machines",
    "  here: 9,100 training tokens/s, 5.2 min; GPT's committed run: 6,600 tokens/s, 7.5 min on AMD EPYC, 1 thread, not this machine",
  ];
  assert.deepEqual(formatComparison(run, { ...PATHS, summary: gpt }), expectedAcross);
  const otherPlan = summary(HSM, 1.552, 9100, 312, {
    model: { ...(presetConfig(HSM).model as object), plan: 'hsm:ab*7' },
  });
  assert.equal(
    formatComparison(otherPlan, { ...PATHS, summary: gpt }, { path: 'x', summary: committedHsm })[0],
    expectedAcross[0],
  );
  // A worse run gets a plus sign.
  assert.match(
    formatComparison(summary(HSM, 1.7, 9100, 312), { ...PATHS, summary: gpt })[0],
    /val loss 1\.700 vs 1\.623 \(\+0\.077 nats\)/,
  );
});

test('a run on another budget is not compared: one line names the setting that differs', () => {
  const gpt = summary(GPT, 1.623, 6600, 450);
  const short = summary(HSM, 2.0, 9100, 100, { maxIters: 500 });
  assert.deepEqual(formatComparison(short, { ...PATHS, summary: gpt }), [
    "hsm: not compared with GPT's committed run (docs/results/quickstart/gpt.json): this run differs in maxIters 500 vs 3000",
  ]);
  const otherData = summary(HSM, 2.0, 9100, 100, { data: 'shakespeare' });
  assert.match(formatComparison(otherData, { ...PATHS, summary: gpt })[0], /differs in data "shakespeare" vs "sotu"$/);
  const otherContext = summary(HSM, 2.0, 9100, 100, {
    model: { ...(presetConfig(HSM).model as object), blockSize: 64 },
  });
  assert.match(formatComparison(otherContext, { ...PATHS, summary: gpt })[0], /differs in context 64 vs 128$/);
});

test('a missing or damaged reference file is a one-line note, never a crash', () => {
  const root = tmp('quickstart');
  mkdirSync(join(root, 'ref'));
  const run = summary(HSM, 1.552, 9100, 312);
  const gpt = summary(GPT, 1.623, 6600, 450);
  const reference = { name: 'GPT', baseline: 'ref/gpt.json', own: 'ref/hsm.json' };
  const note = (): string => {
    const lines = compareWithReference(run, reference, root);
    assert.equal(lines.length, 1, lines.join('\n'));
    return lines[0];
  };
  assert.equal(note(), "hsm: no comparison with GPT's committed run: ref/gpt.json is missing");
  writeFileSync(join(root, 'ref/gpt.json'), '{"kind": "hsm-train-summary", "final_val');
  assert.equal(note(), "hsm: no comparison with GPT's committed run: ref/gpt.json is not valid JSON");
  writeFileSync(join(root, 'ref/gpt.json'), JSON.stringify({ ...gpt, final_val_loss: 'low' }));
  assert.match(
    note(),
    /^hsm: no comparison with GPT's committed run: ref\/gpt\.json is not a run summary \(final_val_loss: /,
  );
  writeFileSync(join(root, 'ref/gpt.json'), '[]');
  assert.match(note(), /ref\/gpt\.json is not a run summary/);
  mkdirSync(join(root, 'ref/dir.json'));
  assert.match(
    compareWithReference(run, { ...reference, baseline: 'ref/dir.json' }, root)[0],
    /ref\/dir\.json cannot be read \(EISDIR\)/,
  );

  // A good baseline with a missing or damaged own run: the comparison falls back to the cross-machine ratio.
  writeRunSummary(join(root, 'ref/gpt.json'), gpt);
  const across = compareWithReference(run, reference, root);
  assert.equal(across.length, 2);
  assert.match(across[0], /val loss 1\.552 vs 1\.623 .*across machines$/);
  writeFileSync(join(root, 'ref/hsm.json'), 'not json');
  assert.deepEqual(compareWithReference(run, reference, root), across);
  writeRunSummary(join(root, 'ref/hsm.json'), summary(HSM, 1.55, 8000, 380));
  assert.match(compareWithReference(run, reference, root)[0], /1\.21× GPT's training tokens\/s \(both committed runs/);
});

test('hsm train --summary writes the summary, and a preset run on another budget prints the note instead of the comparison', () => {
  const dir = tmp('quickstart-cli');
  const data = join(dir, 'tiny.txt');
  writeFileSync(data, 'Fellow citizens of the Senate and of the House of Representatives. '.repeat(60));
  const file = join(dir, 'nested', 'summary.json');
  const r = cli([
    'train',
    '--preset',
    HSM,
    '--data',
    data,
    '--out',
    join(dir, 'run'),
    '--max-iters',
    '3',
    '--context',
    '16',
    '--n-embd',
    '16',
    '--batch-size',
    '2',
    '--eval-iters',
    '1',
    '--warmup-iters',
    '1',
    '--summary',
    file,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(file));
  const written = readRunSummary(file);
  assert.ok('summary' in written, 'problem' in written ? written.problem : '');
  assert.equal(written.summary.steps, 3);
  assert.equal(written.summary.preset, HSM);
  assert.match(String(written.summary.provenance.command), /^hsm train --preset sotu-hsm-quick /);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).kind, 'hsm-train-summary');
  assert.match(
    r.stderr,
    /^hsm: not compared with GPT's committed run \(docs\/results\/quickstart\/gpt\.json\): this run differs in data /m,
  );
});
