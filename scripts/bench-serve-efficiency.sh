#!/bin/sh
# Server efficiency of hsm serve at d=128 and d=384 (one-off measurement script, not part of the build):
# 16 streaming clients on loopback against the same model's decodeBatch rate at 16 sequences, measured
# in the same run (hsm bench serve). Fresh 4-layer hsm:pair*4 models, 16-token prompts, 64 tokens per
# request. Each width runs ROUNDS times (default 2), alternating; about a minute per round on a quiet
# 2-core machine. Prints the load average before each run, then one line per run and the JSON records
# into OUT (default /tmp/bench-serve-efficiency.jsonl).
#   sh scripts/bench-serve-efficiency.sh [ROUNDS] [OUT]
cd "$(dirname "$0")/.." || exit 1
rounds=${1:-2}
out=${2:-/tmp/bench-serve-efficiency.jsonl}
: > "$out"
i=0
while [ "$i" -lt "$rounds" ]; do
  i=$((i + 1))
  for width in 128:256 384:128; do
    d=${width%%:*}
    requests=${width#*:}
    echo "round $i d=$d load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    node dist/src/cli/main.js bench serve --json --plans 'hsm:pair*4' --n-embd "$d" --concurrency 16 \
      --requests "$requests" --deadline-s 120 | grep '"bench":"serve"' | sed "s/^{/{\"n_embd\":$d,/" | tee -a "$out" |
      node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(`  ${r.tokens_per_s} tokens/s served, ${r.decode_batch_tokens_per_s} decodeBatch: server efficiency ${r.server_efficiency}` +
          `  (ok ${r.completed}/${r.requests}, server ${r.server_cpu} cores, clients ${r.client_cpu} cores)`)' || exit 1
  done
done
