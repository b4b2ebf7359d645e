// clang-format over native/ (C++). `--check` fails on unformatted files
// (npm run lint); without it, rewrites them in place (npm run format).
// A wrapper because clang-format takes files, not folders, and a missing
// clang-format must say how to get it rather than fail obscurely.
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(cc|h)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const check = process.argv.includes('--check');
const files = sources(join(__dirname, '..', 'native'));
const args = check ? ['--dry-run', '--Werror', ...files] : ['-i', ...files];
const result = spawnSync('clang-format', args, { stdio: 'inherit' });
if (result.error) {
  console.error('clang-format not found: install it (Debian: apt-get install clang-format)');
  process.exit(2);
}
process.exit(result.status ?? 1);
