// Float reductions the compiler can vectorize. Without -ffast-math a plain
// `s += x[i]` loop must add in order and stays scalar; sixteen independent
// partial sums (one SIMD register's worth) are an explicit reordering.
#pragma once
#include <cstdint>

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

}  // namespace hsm
