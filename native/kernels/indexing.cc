// Gathers and shifted reads: embedding lookup (and its scatter-add) and HSM's
// zero-padded time shift.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "reduce.h"

namespace hsm {
namespace HSM_ISA {

void embedding_forward(const float* weight, const int32_t* idx, float* out, int64_t n, int64_t c) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      std::memcpy(out + r * c, weight + static_cast<int64_t>(idx[r]) * c, c * sizeof(float));
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

// out (N, G) = Σ over each group's C/G channels of x (N, C): per-head sums.
void group_sum(const float* x, float* out, int64_t n, int64_t c, int64_t g) {
  const int64_t width = c / g;
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < g; ++j) out[r * g + j] = reduce_sum(x + r * c + j * width, width);
  });
}

// out (N, C) (+)= x (N, G) repeated over each group's channels.
void group_expand(const float* x, float* out, int64_t n, int64_t c, int64_t g, bool accumulate) {
  const int64_t width = c / g;
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t j = 0; j < g; ++j) {
        const float v = x[r * g + j];
        float* o = out + r * c + j * width;
        if (accumulate) {
          for (int64_t i = 0; i < width; ++i) o[i] += v;
        } else {
          for (int64_t i = 0; i < width; ++i) o[i] = v;
        }
      }
    }
  });
}

// out (N, width) = channels [start, start + width) of x (N, C).
void columns_forward(const float* x, float* out, int64_t n, int64_t c, int64_t start, int64_t width) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, width)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) std::memcpy(out + r * width, x + r * c + start, width * sizeof(float));
  });
}

// dx (N, C) channels [start, start + width) += dy (N, width).
void columns_backward(const float* dy, float* dx, int64_t n, int64_t c, int64_t start, int64_t width) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, width)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict src = dy + r * width;
      float* __restrict dst = dx + r * c + start;
      for (int64_t i = 0; i < width; ++i) dst[i] += src[i];
    }
  });
}

// Channel group g (of G = n_groups equal groups) reads y[b, t] = x[b, t − shifts[g]], 0 for t < shift.
void shift_forward(const float* x, float* y, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups) {
  const int64_t width = c / n_groups;
  parallel_for(b * t, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ti = r % t;
      float* yr = y + r * c;
      for (int64_t g = 0; g < n_groups; ++g) {
        const int64_t s = shifts[g];
        if (ti >= s)
          std::memcpy(yr + g * width, x + (r - s) * c + g * width, width * sizeof(float));
        else
          std::memset(yr + g * width, 0, width * sizeof(float));
      }
    }
  });
}

// dx[b, t − s_g] += dy[b, t] per group. Rows are split by batch item so that no
// two tasks write the same dx row.
void shift_backward(const float* dy, float* dx, int64_t b, int64_t t, int64_t c, const int32_t* shifts,
                    int64_t n_groups) {
  const int64_t width = c / n_groups;
  parallel_for(b, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi) {
      for (int64_t g = 0; g < n_groups; ++g) {
        const int64_t s = shifts[g];
        for (int64_t ti = s; ti < t; ++ti) {
          const float* src = dy + (bi * t + ti) * c + g * width;
          float* dst = dx + (bi * t + ti - s) * c + g * width;
          for (int64_t i = 0; i < width; ++i) dst[i] += src[i];
        }
      }
    }
  });
}

}  // namespace HSM_ISA
}  // namespace hsm
