// Charts for reports and benchmarks: Vega-Lite specs compiled to Vega, rendered to SVG in Node
// (no browser, no canvas) or embedded in HTML with the Vega runtime inlined.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

/** Compiles a Vega-Lite spec to a full Vega spec (what the browser runtime and the SVG renderer take). */
export function toVega(spec: ChartSpec): vega.Spec {
  return compile(spec).spec;
}

/** Renders a Vega-Lite spec to a standalone SVG document string. */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(toVega(spec)), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let runtime: string | undefined;
/** The minified Vega runtime, to inline into self-contained HTML reports (they must open offline). */
export function vegaRuntimeSource(): string {
  if (runtime === undefined) {
    const require = createRequire(import.meta.url);
    // The package exports only its module entry (in build/); the browser bundle sits beside it.
    runtime = readFileSync(join(dirname(require.resolve('vega')), 'vega.min.js'), 'utf8');
  }
  return runtime;
}
