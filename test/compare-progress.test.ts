import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompareEta, formatDuration } from '../src/compare/progress.js';

test("a compare's progress counts the grid's steps trained before this invocation", () => {
  // A resumed study: 70 of its 100 steps trained by earlier invocations (finished runs, resumed steps).
  const eta = new CompareEta(30, 70);
  assert.equal(eta.percent(), 70);
  assert.equal(eta.seconds(), null, 'no pace before the first step');
  eta.advance(15);
  assert.equal(eta.percent(), 85);
  assert.equal(eta.stepsLeft, 15);
  assert.ok((eta.seconds() ?? -1) >= 0);
  eta.advance(20); // more than is left: clamps
  assert.equal(eta.stepsLeft, 0);
  assert.equal(eta.percent(), 100);
  // A fresh grid starts at 0%, a finished one (nothing to train) is 100%.
  assert.equal(new CompareEta(40).percent(), 0);
  assert.equal(new CompareEta(0, 0).percent(), 100);
  assert.equal(new CompareEta(0, 12).percent(), 100);
});

test('durations read as hours and minutes, minutes and seconds, or seconds', () => {
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(9.2), '9s');
  assert.equal(formatDuration(null), '?');
  assert.equal(formatDuration(Infinity), '?');
});
