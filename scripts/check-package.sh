#!/usr/bin/env bash
# The packed package works on its own: `npm pack` (of the built checkout), then in
# empty folders `npm install ./hsm-*.tgz`, `npx hsm train` and `npx hsm generate`,
# once with a C++ toolchain (native kernels) and once without one (the addon cannot
# build: the WebAssembly kernels, with one line saying so), and the library import.
# Run after `npm run build` (CI runs it after npm test); needs the npm registry
# for the dependencies. Takes about two minutes, most of it training on wasm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/hsm-package-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "check-package: $*" >&2
  exit 1
}

for f in dist/src/cli/main.js dist/wasm/hsm.wasm dist/browser/hsm.js; do
  [ -f "$root/$f" ] || fail "$f is missing: run npm run build first"
done

# The build is done, so pack without running it again (prepare would).
(cd "$root" && npm pack --ignore-scripts --pack-destination "$work" --json >"$work/pack.json")
tarball="$(ls "$work"/hsm-*.tgz)"
bytes=$(stat -c %s "$tarball")
echo "check-package: $(basename "$tarball"): $bytes bytes"
# Lean: well under the 8 MB it was with tests, fixtures and docs; none of those inside.
[ "$bytes" -lt 1500000 ] || fail "the tarball is $bytes bytes, over 1.5 MB"
if node -e 'const [p] = require(process.argv[1]); const bad = p.files.map((f) => f.path).filter((f) => /^(test|tools|dist\/test|docs\/(?!results\/quickstart\/(gpt|hsm)\.json$))|\.map$/.test(f)); if (bad.length) { console.log(bad.join("\n")); process.exit(1); }' "$work/pack.json"; then :; else
  fail "the tarball holds tests, fixtures, docs or source maps (listed above)"
fi

# PATH without a C or C++ compiler or make: the same commands, each a link, minus those.
nocc="$work/bin-without-compilers"
mkdir "$nocc"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  for f in "$d"/*; do
    n="$(basename "$f")"
    [[ "$n" =~ ^(cc|c\+\+|gcc|g\+\+|clang|clang\+\+|make|gmake)(-[0-9.]+)?$ || "$n" =~ -(gcc|g\+\+)(-[0-9.]+)?$ ]] && continue
    [ -x "$f" ] && [ ! -e "$nocc/$n" ] && ln -s "$f" "$nocc/$n"
  done
done
PATH="$nocc" command -v g++ >/dev/null && fail "could not hide g++"

# check NAME PATH EXPECTED-BACKEND: install the tarball in an empty folder, train, generate.
check() {
  local name=$1 path=$2 backend=$3 dir="$work/$1"
  mkdir "$dir"
  local t0=$SECONDS
  (cd "$dir" && PATH="$path" npm install --no-audit --no-fund --loglevel=error "$tarball" >npm.log 2>&1) ||
    { cat "$dir/npm.log"; fail "$name: npm install failed"; }
  echo "check-package: $name: npm install took $((SECONDS - t0)) s"; t0=$SECONDS
  (cd "$dir" && PATH="$path" npx hsm train --preset sotu-hsm-quick --max-iters 50 --out run >train.out 2>train.err) ||
    { cat "$dir/train.err"; fail "$name: hsm train failed"; }
  echo "check-package: $name: hsm train took $((SECONDS - t0)) s"
  grep -q "backend $backend" "$dir/train.err" || { cat "$dir/train.err"; fail "$name: hsm train did not run on $backend"; }
  grep -q '"step":50' "$dir/train.out" || fail "$name: hsm train did not reach step 50"
  (cd "$dir" && PATH="$path" npx hsm generate --ckpt run --prompt 'Fellow citizens' --max-tokens 40 >gen.out 2>gen.err) ||
    { cat "$dir/gen.err"; fail "$name: hsm generate failed"; }
  grep -q '^Fellow citizens' "$dir/gen.out" || fail "$name: hsm generate printed no text"
  (cd "$dir" && node --input-type=module -e "
    import { Transformer, generateText } from 'hsm';
    const m = new Transformer({ vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 1, nEmbd: 8 });
    if (typeof generateText !== 'function' || !(m.params.count > 0)) process.exit(1);") ||
    fail "$name: import { Transformer } from 'hsm' failed"
  echo "check-package: $name: installed, trained 50 steps on $backend ($(grep -o '[0-9]* tok/s' "$dir/train.err" | tail -1)), generated, imported"
}

check with-compiler "$PATH" native
check without-compiler "$nocc" wasm
# Without the addon, one line says which kernels run instead and what that costs.
notes=$(grep -c '^hsm: no native addon .*using the WebAssembly kernels' "$work/without-compiler/train.err" || true)
[ "$notes" = 1 ] || { cat "$work/without-compiler/train.err"; fail "expected one line about the missing addon, saw $notes"; }
echo "check-package: ok"
