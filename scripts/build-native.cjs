// Builds the native addon during `npm install`. A failed build is not fatal:
// the package then runs on the pure TypeScript backend and says so once.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: path.join(__dirname, '..'), shell: !gyp });
if (result.status !== 0) {
  console.warn('\nhsm: the native addon did not build; hsm will use the slower pure-TypeScript backend.');
  console.warn('hsm: to retry, install g++, make and python3, then run: npm rebuild hsm (or npx node-gyp rebuild)\n');
}
