// Equal wall time from an equal-FLOP grid: each model's training speed measured side by side
// (`hsm bench train --json` with the long-* configurations) turns its steps into seconds, and its
// learning curve says what it had reached when GPT's budget of seconds ran out.
//
//   node tools/equal_wall_time.mjs docs/results/long/results.json docs/results/long/bench-train-long.jsonl
//
// Caveat printed with the table: a curve point before the end of a run was taken at a higher learning
// rate than a run that ends there would have (the cosine schedule follows each run's own steps), so
// losses read off a curve slightly understate what an equal-time run would reach.
import { readFileSync } from 'node:fs';

const [resultsPath, benchPath] = process.argv.slice(2);
if (!resultsPath || !benchPath) {
  console.error('usage: node tools/equal_wall_time.mjs RESULTS.json BENCH.jsonl');
  process.exit(2);
}
const runs = JSON.parse(readFileSync(resultsPath, 'utf8')).runs;
const speeds = Object.fromEntries(
  readFileSync(benchPath, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((r) => r.engine === 'hsm')
    .map((r) => [r.config.replace(/^long-/, ''), r.tokens_per_s]),
);
const tokensPerStep = (run) => run.config.batchSize * run.config.model.blockSize;

/** The val loss at `step` on the run's curve (linear between eval points; the final loss past the end). */
function lossAt(run, step) {
  const curve = run.curve.filter((p) => p.val_loss !== undefined);
  if (step >= run.steps) return run.final_val_loss;
  let prev = curve[0];
  for (const p of curve) {
    if (p.step >= step) {
      if (p === prev) return p.val_loss;
      return prev.val_loss + ((p.val_loss - prev.val_loss) * (step - prev.step)) / (p.step - prev.step);
    }
    prev = p;
  }
  return run.final_val_loss;
}

const models = Object.keys(speeds);
const bySeed = (model) => runs.filter((r) => r.model === model);
const gptSeconds = (seed) => {
  const gpt = bySeed('gpt').find((r) => r.seed === seed);
  return (gpt.steps * tokensPerStep(gpt)) / speeds.gpt;
};
console.log(
  "| model | tokens/s (side by side) | steps at equal FLOPs | seconds at equal FLOPs | val loss at equal FLOPs | step reached in GPT's seconds | val loss at equal wall time |",
);
console.log('|---|---|---|---|---|---|---|');
for (const model of models) {
  const rows = bySeed(model).map((run) => {
    const seconds = (run.steps * tokensPerStep(run)) / speeds[model];
    const step = Math.floor((gptSeconds(run.seed) * speeds[model]) / tokensPerStep(run));
    return { seconds, step: Math.min(step, run.steps), flopLoss: run.final_val_loss, timeLoss: lossAt(run, step) };
  });
  const mean = (f) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  const spread = (f) => (Math.max(...rows.map(f)) - Math.min(...rows.map(f))) / 2;
  console.log(
    `| ${model} | ${Math.round(speeds[model])} | ${bySeed(model)[0].steps} | ${mean((r) => r.seconds).toFixed(0)} | ` +
      `${mean((r) => r.flopLoss).toFixed(3)} ± ${spread((r) => r.flopLoss).toFixed(3)} | ${Math.round(mean((r) => r.step))} | ` +
      `${mean((r) => r.timeLoss).toFixed(3)} ± ${spread((r) => r.timeLoss).toFixed(3)} |`,
  );
}
