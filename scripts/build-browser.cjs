// Bundles the browser entry (dist/src/browser/index.js, compiled by tsc) into
// dist/browser/hsm.js with esbuild: one ES module that is both the page's API
// and its Web Worker. package.json's "browser" field swaps the three Node-only
// modules for their browser counterparts (src/browser/platform/); anything else
// that reaches a Node built-in fails this build, which is how the rule "the core
// has no Node-only imports" is kept.
const path = require('node:path');
const { build } = require('esbuild');

const root = path.join(__dirname, '..');
build({
  entryPoints: [path.join(root, 'dist/src/browser/index.js')],
  outfile: path.join(root, 'dist/browser/hsm.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
}).catch(() => process.exit(1));
