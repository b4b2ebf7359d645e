// Gathers and shifted reads: embedding lookup (and its scatter-add) and HSM's
// zero-padded time shift.
#include "kernels.h"

#include <algorithm>
#include <cstring>

namespace hsm {
namespace HSM_ISA {

void embedding_forward(const float* weight, const int32_t* idx, float* out, int64_t n, int64_t c) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) std::memcpy(out + r * c, weight + static_cast<int64_t>(idx[r]) * c, c * sizeof(float));
  });
}

// Scatter-add: rows with the same index collide, so tasks split the channels, not the rows.
void embedding_backward(const int32_t* idx, const float* dout, float* dweight, int64_t n, int64_t c) {
  const int64_t min_cols = std::max<int64_t>(16, (1 << 15) / std::max<int64_t>(1, n));
  parallel_for(c, min_cols, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < n; ++r) {
      const float* src = dout + r * c;
      float* dst = dweight + static_cast<int64_t>(idx[r]) * c;
      for (int64_t i = c0; i < c1; ++i) dst[i] += src[i];
    }
  });
}

// y[b, t] = x[b, t − s] for t ≥ s, else 0.
void shift_forward(const float* x, float* y, int64_t b, int64_t t, int64_t c, int64_t s) {
  const int64_t lead = std::min(s, t);
  parallel_for(b, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi) {
      float* yb = y + bi * t * c;
      const float* xb = x + bi * t * c;
      std::memset(yb, 0, lead * c * sizeof(float));
      if (t > s) std::memcpy(yb + s * c, xb, (t - s) * c * sizeof(float));
    }
  });
}

// dx[b, t − s] += dy[b, t].
void shift_backward(const float* dy, float* dx, int64_t b, int64_t t, int64_t c, int64_t s) {
  if (t <= s) return;
  parallel_for(b, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi) {
      const float* src = dy + (bi * t + s) * c;
      float* dst = dx + bi * t * c;
      const int64_t count = (t - s) * c;
      for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
    }
  });
}

}  // namespace HSM_ISA
}  // namespace hsm
