// The HTML report in a real browser: headless Chromium opens report.html from
// disk (no network) and every chart must draw as SVG with marks in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCompare } from '../src/compare/compare.js';
import { parseGrid, type GridInput } from '../src/compare/grid.js';
import { tinyRecallGrid, tinyTextGrid } from './compare-fixtures.js';
import { smallCorpus, tmp } from './helpers.js';
import { launchChromium } from './chromium.js';
import { chromiumMissing } from './toolchains.js';

/** Screenshots land here (dist/test-output), to look at after a run. */
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const skip = chromiumMissing();

async function checkReportInBrowser(name: string, grid: GridInput): Promise<void> {
  const root = tmp('report');
  const outcome = await runCompare(parseGrid(grid, name), join(root, 'out'));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`request ${r.url()} failed`));
    page.on('request', (r) => !r.url().startsWith('file:') && problems.push(`the page fetched ${r.url()}`));
    await page.goto(pathToFileURL(join(root, 'out', 'report.html')).href);
    await page.waitForFunction(
      () => [...document.querySelectorAll<HTMLElement>('.chart')].every((el) => el.dataset.rendered),
      null,
      { timeout: 30_000 },
    );
    const charts = await page.$$eval('.chart', (els) =>
      els.map((el) => ({
        id: el.id,
        rendered: (el as HTMLElement).dataset.rendered,
        // Vega's SVG renderer puts each mark in a group classed mark-<type>; count what was drawn in them.
        marks: el.querySelectorAll('svg g[class^="mark-"] path, svg g[class^="mark-"] line, svg g[class^="mark-"] rect')
          .length,
        lines: el.querySelectorAll('svg g.mark-line path').length,
        bars: el.querySelectorAll('svg g.mark-rect path').length,
        points: el.querySelectorAll('svg g.mark-symbol path').length,
      })),
    );
    const expected = outcome.files.filter((f) => f.endsWith('.svg')).map((f) => `chart-${f.replace(/\.svg$/, '')}`);
    assert.deepEqual(
      charts.map((c) => c.id),
      expected,
      'one chart per SVG written',
    );
    for (const c of charts) {
      assert.equal(c.rendered, 'true', `${c.id} drew without error`);
      assert.ok(c.marks > 0, `${c.id} has marks`);
      // Loss against parameters or training FLOPs is a scatter (one point per run); the other loss charts are curves.
      if (/^chart-loss-vs-(parameters|train-flops)$/.test(c.id)) assert.ok(c.points >= 1, `${c.id} has points`);
      else if (c.id.startsWith('chart-loss')) assert.ok(c.lines >= 1, `${c.id} has lines`);
      else assert.ok(c.bars >= 1, `${c.id} has bars`);
    }
    assert.deepEqual(problems, []);
    const models = await page.$$eval('tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    for (const m of outcome.results.grid.models) assert.ok(models.includes(m.name), `the table names ${m.name}`);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, `report-${name}.png`), fullPage: true });
  } finally {
    await browser.close();
  }
}

test('report.html draws every chart in headless Chromium (text grid)', { skip }, async () => {
  await checkReportInBrowser('text', tinyTextGrid(smallCorpus(tmp('corpus'))));
});

test('report.html draws every chart in headless Chromium (recall grid, one panel per length)', { skip }, async () => {
  await checkReportInBrowser('recall', tinyRecallGrid());
});
