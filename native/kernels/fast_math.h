// A branch-free e^x that GCC vectorizes inside plain loops (a libm expf call
// would stop the loop from vectorizing).
#pragma once
#include <cstdint>
#include <cstring>

namespace hsm {

// e^x with ~2 ulp relative error on [-87, 88]; flushes to 0 below, saturates above.
static inline float fast_expf(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  // r = x - n·ln2 in two parts so r stays exact enough.
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187e-06f;
  // e^r on [-ln2/2, ln2/2]: 1 + r + r²·P(r), P a degree-5 minimax polynomial.
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace hsm
