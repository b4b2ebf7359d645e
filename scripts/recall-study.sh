#!/bin/sh
# One worker slot of the recall study: the grids in order, each shared with the other slot
# (--worker), into docs/results/recall/zoology-*/. Two slots, one thread each:
#   nohup sh scripts/recall-study.sh > runs/recall-slot1.log 2>&1 &
#   nohup sh scripts/recall-study.sh > runs/recall-slot2.log 2>&1 &
# Running it again resumes: finished runs are skipped, interrupted ones continue from their checkpoint.
cd "$(dirname "$0")/.." || exit 1
for pair in recall-bar:zoology-bar recall:zoology-study recall-heads:zoology-heads; do
  grid=${pair%%:*}
  out=docs/results/recall/${pair#*:}
  HSM_THREADS=1 nice -n 5 node dist/src/cli/main.js compare --grid "$grid" --out "$out" --worker || exit $?
done
