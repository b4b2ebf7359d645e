// The import rules of src/ (run by `npm run lint`, so by `npm test` and CI).
// Each layer may import only the layers listed before it; a wrong import, or a
// cycle between files, fails the check. docs/ARCHITECTURE.md explains the layers.
const LAYERS = [
  'io', // file formats (safetensors, atomic writes)
  'report', // charts and provenance: Vega-Lite and git, nothing of ours
  'backend', // the Kernels interface, js reference, native addon
  'tensor',
  'autograd',
  'ops',
  'optim',
  'model',
  'data', // corpora, tokenizers, batches, the recall task
  'generate',
  'train',
  'browser', // the browser bundle's entry: a Web Worker that loads run folders over HTTP and generates or trains
  'serve', // the OpenAI-compatible HTTP server (continuous batching)
  'bench',
  'compare',
  'cli',
];

const layerRules = LAYERS.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only ${LAYERS.slice(0, i).join(', ') || 'no other layer'} (and src/*.ts)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|') || '$^'})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles between files (so none between layers either)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-files-import-nothing-of-ours',
      comment: 'src/errors.ts and src/project-root.ts are used by every layer, so they import no layer',
      severity: 'error',
      from: { path: '^src/(errors|project-root)\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'library-entry-is-not-imported',
      comment: 'src/index.ts is the public API, not an internal shortcut',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'core-runs-in-a-browser',
      comment:
        'the layers the browser bundle uses import no Node built-in; the three Node-only modules there have browser counterparts (package.json "browser", src/browser/platform/)',
      severity: 'error',
      from: {
        path: '^src/(backend|tensor|autograd|ops|optim|model|generate|browser)/',
        pathNot: '^src/backend/(native|wasm-file)\\.ts$',
      },
      to: { dependencyTypes: ['core'] },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
