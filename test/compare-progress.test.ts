import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompareEta, formatDuration } from '../src/compare/progress.js';

test("a compare's progress counts the grid's FLOPs trained before this invocation", () => {
  // A resumed study: 70 of its 100 FLOP units trained by earlier invocations (finished runs, resumed steps).
  const eta = new CompareEta(30, 70);
  assert.equal(eta.percent(), 70);
  assert.equal(eta.seconds(), null, 'no pace before the first step');
  eta.advance(15);
  assert.equal(eta.percent(), 85);
  assert.equal(eta.flopsLeft, 15);
  assert.ok((eta.seconds() ?? -1) >= 0);
  eta.advance(20); // more than is left: clamps
  assert.equal(eta.flopsLeft, 0);
  assert.equal(eta.percent(), 100);
  // A fresh grid starts at 0%, a finished one (nothing to train) is 100%.
  assert.equal(new CompareEta(40).percent(), 0);
  assert.equal(new CompareEta(0, 0).percent(), 100);
  assert.equal(new CompareEta(0, 12).percent(), 100);
});

test('a new plan (more runs known) replaces the totals and keeps the pace', () => {
  const eta = new CompareEta(100, 0);
  eta.advance(40);
  // A sweep decided: 200 units more are known; of the grid's 340, 40 are trained (by this invocation).
  eta.replan(300, 40);
  assert.equal(eta.flopsLeft, 300);
  assert.equal(eta.percent(), Math.floor((100 * 40) / 340));
  // The pace is this invocation's so far, not restarted (a restarted one has no ETA before its next step).
  assert.notEqual(eta.seconds(), null);
  // Another worker trained 60 units meanwhile: they count as done before.
  eta.replan(240, 100);
  assert.equal(eta.percent(), Math.floor((100 * 100) / 340));
});

test('durations read as hours and minutes, minutes and seconds, or seconds', () => {
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(9.2), '9s');
  assert.equal(formatDuration(null), '?');
  assert.equal(formatDuration(Infinity), '?');
});
