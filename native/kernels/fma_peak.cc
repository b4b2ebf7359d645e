// The CPU's floating-point ceiling: independent chains of fused multiply-adds
// that never leave the registers, so nothing but the FMA units limits them.
// `hsm bench peak` times it and the other benchmarks report their GFLOP/s as
// a fraction of what it reaches.
//
// Every task runs kPeakLanes = 192 lanes (the ABI's number, whatever the ISA),
// lane l starting at x = l, through `iterations` steps x ← x·a + b, and
// returns the sum of the final values. The multiplier and addend arrive at
// run time, so the compiler can neither fold a chain nor merge two of them
// (they start apart), and the sum depends on every step: with a = −1, b = 1
// each step flips x to 1 − x exactly, so the sum checks the step count's
// parity on every call, and with a = 1, b = 1 or a = 1/2, b = 0 it checks the
// count itself (tests compare all three with the closed forms).
//
// Keeping the FMA units busy needs at least latency × throughput chains in
// flight (4 cycles × 2 units on current x86 cores; 5 × 2 on some older ones),
// each in its own register: 12 vector accumulators cover that and, with the
// two broadcast operands, fit AVX2's 16 registers. A 192-lane task is one
// pass of 12 zmm, two of 12 ymm, or four of 12 four-lane vectors (the
// portable and wasm builds, which have no FMA instruction and so run a
// multiply and an add: the same two FLOPs per lane-step).
#include <cstdint>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels.h"

namespace hsm {
namespace HSM_ISA {
namespace {

constexpr int kAccumulators = 12;
constexpr int64_t kPeakLanes = 192;

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kWidth = 16;
inline Vec splat(float v) { return _mm512_set1_ps(v); }
inline Vec fused(Vec x, Vec a, Vec b) { return _mm512_fmadd_ps(x, a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
constexpr int kWidth = 8;
inline Vec splat(float v) { return _mm256_set1_ps(v); }
inline Vec fused(Vec x, Vec a, Vec b) { return _mm256_fmadd_ps(x, a, b); }
#else
// GCC/clang vector extensions: SSE2 on x86-64, SIMD128 in the wasm build.
typedef float Vec __attribute__((vector_size(16)));
constexpr int kWidth = 4;
inline Vec splat(float v) { return Vec{v, v, v, v}; }
inline Vec fused(Vec x, Vec a, Vec b) { return x * a + b; }
#endif

static_assert(kPeakLanes % (kAccumulators * kWidth) == 0, "a task is whole passes of the accumulators");

// One pass: lanes [first, first + 12·kWidth) through `iterations` steps.
double chains(int64_t first, float a, float b, int64_t iterations) {
  alignas(64) float lanes[kAccumulators * kWidth];
  for (int i = 0; i < kAccumulators * kWidth; ++i) lanes[i] = static_cast<float>(first + i);
  Vec acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) __builtin_memcpy(&acc[i], lanes + i * kWidth, sizeof(Vec));
  const Vec va = splat(a), vb = splat(b);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kAccumulators; ++i) acc[i] = fused(acc[i], va, vb);
  }
  for (int i = 0; i < kAccumulators; ++i) __builtin_memcpy(lanes + i * kWidth, &acc[i], sizeof(Vec));
  double sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

}  // namespace

double fma_peak(float a, float b, int64_t iterations, int64_t tasks) {
  // Many more tasks than threads: the pool hands them out as threads come
  // free, so a thread that starts late (a busy machine) does not stall the end.
  std::vector<double> sums(static_cast<size_t>(tasks));
  parallel_tasks(tasks, [&](int64_t task) {
    double s = 0;
    for (int64_t first = 0; first < kPeakLanes; first += kAccumulators * kWidth) s += chains(first, a, b, iterations);
    sums[static_cast<size_t>(task)] = s;
  });
  double total = 0;
  for (double s : sums) total += s;
  return total;
}

}  // namespace HSM_ISA
}  // namespace hsm
