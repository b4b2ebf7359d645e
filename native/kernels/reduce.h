// Float reductions the compiler can vectorize. Without -ffast-math a plain
// `s += x[i]` loop must add in order and stays scalar; sixteen independent
// partial sums (one SIMD register's worth) are an explicit reordering.
#pragma once
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "../threadpool.h"

namespace hsm {

constexpr int kLanes = 16;

template <class F>
static inline float reduce16(int64_t n, F term) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += term(i + j);
  float tail = 0.0f;
  for (; i < n; ++i) tail += term(i);
  float s = 0.0f;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s + tail;
}

static inline float reduce_sum(const float* x, int64_t n) {
  return reduce16(n, [&](int64_t i) { return x[i]; });
}

static inline float reduce_dot(const float* a, const float* b, int64_t n) {
  return reduce16(n, [&](int64_t i) { return a[i] * b[i]; });
}

// Maximum (order does not matter for max, so this is exact).
static inline float reduce_max(const float* x, int64_t n) {
  float acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  float m = x[0];
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < kLanes; ++j) m = acc[j] > m ? acc[j] : m;
  return m;
}

namespace {  // internal linkage: every ISA build keeps its own copy and scratch

/**
 * Row-parallel work that also sums per-channel quantities (bias and scale
 * gradients): each task gets a contiguous range of the `rows` rows and a
 * zeroed scratch row of outs.size()·c floats; afterwards the scratch rows are
 * added into `outs` (c floats each; a null output is skipped). Tasks never
 * share a written element, so there are no races and results do not depend on
 * scheduling. body(r0, r1, partial). Called from the main thread only.
 */
template <class Body>
void rows_with_partials(int64_t rows, int64_t c, std::initializer_list<float*> outs, Body body) {
  const int64_t k = static_cast<int64_t>(outs.size());
  const int64_t tasks = std::min<int64_t>(num_threads(), std::max<int64_t>(1, rows * c / (1 << 15)));
  static std::vector<float> scratch;
  if (static_cast<int64_t>(scratch.size()) < tasks * k * c) scratch.resize(tasks * k * c);
  float* partial = scratch.data();
  parallel_tasks(tasks, [&](int64_t t) {
    float* mine = partial + t * k * c;
    std::fill(mine, mine + k * c, 0.0f);
    body(rows * t / tasks, rows * (t + 1) / tasks, mine);
  });
  int64_t j = 0;
  for (float* out : outs) {
    if (out)
      for (int64_t t = 0; t < tasks; ++t)
        for (int64_t i = 0; i < c; ++i) out[i] += partial[(t * k + j) * c + i];
    ++j;
  }
}

}  // namespace

}  // namespace hsm
