#!/bin/sh
# One-off: builds tools/kernel-ab/kernel_ab.cc against the AVX2 kernels of a
# base revision (default: main) and of the working tree, then runs it.
#   tools/kernel-ab/run.sh [base-rev] [threads] [reps] [filter]
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:-main}
out=$(mktemp -d)
git -C "$root" archive "$base" native | tar -x -C "$out"
flags="-std=c++17 -O3 -fno-trapping-math -fno-math-errno -mavx2 -mfma"
objs=""
for f in matmul attention elementwise block_style optimizer; do
  g++ $flags -DHSM_ISA=avx2old -c "$out/native/kernels/$f.cc" -o "$out/old_$f.o"
  g++ $flags -DHSM_ISA=avx2 -c "$root/native/kernels/$f.cc" -o "$out/new_$f.o"
  objs="$objs $out/old_$f.o $out/new_$f.o"
done
g++ $flags -c "$root/native/threadpool.cc" -o "$out/threadpool.o"
g++ $flags -DHSM_ISA=avx2 -I"$root" "$root/tools/kernel-ab/kernel_ab.cc" $objs "$out/threadpool.o" -o "$out/kernel_ab" -lpthread
"$out/kernel_ab" "${2:-1}" "${3:-7}" "${4:-}"
rm -rf "$out"
