#!/bin/bash
# One-off measurement script (not part of the build): training and serving speed of two built
# checkouts, taking turns in one run, so a shared machine's noise falls on both alike.
#   scripts/bench-before-after.sh BEFORE_CHECKOUT AFTER_CHECKOUT OUT_DIR
# Each checkout must be built (npm install). With PAUSE=1 the background `hsm compare` workers are
# stopped (SIGSTOP) for the measurement and resumed at the end, whatever happens. About 15 minutes
# on a 2-core machine. The before checkout may lack the context study's configurations; it then
# times only long-gpt, long-pair and long-ab-proj-attn-last (set BEFORE_STUDY=study if it has them).
set -u
[ $# -eq 3 ] || {
  echo "usage: $0 BEFORE_CHECKOUT AFTER_CHECKOUT OUT_DIR" >&2
  exit 2
}
before=$(cd "$1" && pwd) && after=$(cd "$2" && pwd) || exit 2
out=$3
mkdir -p "$out"
if [ "${PAUSE:-0}" = 1 ]; then
  pids=$(pgrep -f "main.js compare")
  if [ -n "$pids" ]; then
    kill -STOP $pids
    trap 'kill -CONT $pids' EXIT
    sleep 20
  fi
fi
hsm() {
  local dir=$1
  shift
  (cd "$dir" && node dist/src/cli/main.js "$@")
}
checkout() { if [ "$1" = after ]; then echo "$after"; else echo "$before"; fi; }
log() { echo "$* (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out/load.txt"; }

hsm "$after" bench peak --json >"$out/peak.json"
for i in 1 2; do
  for rev in before after; do
    log "train, 2 threads, $rev, round $i"
    hsm "$(checkout $rev)" bench train --json --torch-passive --threads 2 --steps 15 --warmup 3 \
      --peak-from "$out/peak.json" >"$out/train-2threads-$rev-$i.jsonl" 2>>"$out/stderr.txt"
  done
done
for rev in before after; do
  configs=study
  [ $rev = before ] && configs=${BEFORE_STUDY:-long-gpt,long-pair,long-ab-proj-attn-last}
  log "train, the study's models, 1 thread, $rev"
  hsm "$(checkout $rev)" bench train --json --no-torch --threads 1 --steps 10 --warmup 2 \
    --peak-from "$out/peak.json" --configs "$configs" >"$out/train-study-$rev.jsonl" 2>>"$out/stderr.txt"
done
for i in 1 2; do
  for rev in before after; do
    for width in 128:256 384:128; do
      d=${width%%:*}
      requests=${width#*:}
      log "serve, d=$d, 16 clients, $rev, round $i"
      hsm "$(checkout $rev)" bench serve --json --plans 'hsm:pair*4' --n-embd "$d" --concurrency 16 \
        --requests "$requests" --deadline-s 120 2>>"$out/stderr.txt" |
        grep '"bench":"serve"' | sed "s/^{/{\"rev\":\"$rev\",\"n_embd\":$d,/" >>"$out/serve.jsonl"
    done
  done
done
echo "wrote $out"
