// Row-wise kernels: LayerNorm, softmax and fused softmax cross-entropy.
// Rows are independent, so they are split across the thread pool; per-row
// loops are written to vectorize.
#include <algorithm>
#include <cmath>

#include "fast_math.h"
#include "kernels.h"
#include "reduce.h"

namespace hsm {
namespace HSM_ISA {
namespace {

// Rows per task so that each task has at least ~32K elements of work.
int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, cols)); }

float row_max(const float* x, int64_t c) { return reduce_max(x, c); }

// log Σ exp(x_i), max-shifted.
float row_logsumexp(const float* x, int64_t c) {
  const float m = row_max(x, c);
  return m + std::log(reduce16(c, [&](int64_t i) { return fast_exp(x[i] - m); }));
}

}  // namespace

void layer_norm_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int64_t n,
                        int64_t c, float eps) {
  parallel_for(n, row_grain(c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
      const float mu = reduce_sum(xr, c) / static_cast<float>(c);
      const float var = reduce16(c, [&](int64_t i) { return (xr[i] - mu) * (xr[i] - mu); }) / static_cast<float>(c);
      const float rs = 1.0f / std::sqrt(var + eps);
      for (int64_t i = 0; i < c; ++i) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
      mean[r] = mu;
      rstd[r] = rs;
    }
  });
}

// dx = rstd·(g − mean(g) − x̂·mean(g⊙x̂)) with g = dy⊙w; dw += Σ dy⊙x̂; db += Σ dy.
// dw and db are summed per task in scratch rows, then reduced, so tasks never race.
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* dy,
                         Nullable<float> dx, Nullable<float> dw, Nullable<float> db, int64_t n, int64_t c) {
  rows_with_partials(n, c, {dw, db}, [&](int64_t r0, int64_t r1, float* partial) {
    float* pw = partial;
    float* pb = partial + c;
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      const float* g = dy + r * c;
      const float mu = mean[r], rs = rstd[r];
      const float g_mean = reduce_dot(g, w, c) / static_cast<float>(c);
      const float gx_mean =
          reduce16(c, [&](int64_t i) { return g[i] * w[i] * (xr[i] - mu) * rs; }) / static_cast<float>(c);
      for (int64_t i = 0; i < c; ++i) {
        pw[i] += g[i] * (xr[i] - mu) * rs;
        pb[i] += g[i];
      }
      if (dx) {
        float* d = dx + r * c;
        for (int64_t i = 0; i < c; ++i) {
          const float xh = (xr[i] - mu) * rs;
          d[i] += rs * (g[i] * w[i] - g_mean - xh * gx_mean);
        }
      }
    }
  });
}

void softmax_forward(const float* x, float* y, int64_t n, int64_t c) {
  parallel_for(n, row_grain(c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
      const float m = row_max(xr, c);
      for (int64_t i = 0; i < c; ++i) yr[i] = fast_exp(xr[i] - m);
      const float inv = 1.0f / reduce_sum(yr, c);
      for (int64_t i = 0; i < c; ++i) yr[i] *= inv;
    }
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t n, int64_t c) {
  parallel_for(n, row_grain(c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y + r * c;
      const float* g = dy + r * c;
      float* d = dx + r * c;
      const float dot = reduce_dot(g, yr, c);
      for (int64_t i = 0; i < c; ++i) d[i] += yr[i] * (g[i] - dot);
    }
  });
}

void cross_entropy_forward(const float* logits, const int32_t* targets, float* lse, float* losses, int64_t n,
                           int64_t v) {
  parallel_for(n, row_grain(v), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = logits + r * v;
      const float l = row_logsumexp(row, v);
      lse[r] = l;
      losses[r] = targets[r] < 0 ? 0.0f : l - row[targets[r]];
    }
  });
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, float* dlogits, float scale,
                            int64_t n, int64_t v) {
  parallel_for(n, row_grain(v), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      if (targets[r] < 0) continue;
      const float* row = logits + r * v;
      float* d = dlogits + r * v;
      const float l = lse[r];
      for (int64_t i = 0; i < v; ++i) d[i] += scale * fast_exp(row[i] - l);
      d[targets[r]] -= scale;
    }
  });
}

}  // namespace HSM_ISA
}  // namespace hsm
