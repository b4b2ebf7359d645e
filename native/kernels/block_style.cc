// The Transformer++ block options: RMSNorm, SwiGLU and rotary positions.
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
int64_t rows_per_task(int64_t cols) { return std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, cols)); }

inline float sigmoid(float g) { return 1.0f / (1.0f + fast_exp(-g)); }

}  // namespace

void rms_norm_forward(const float* x, const float* w, float* y, float* rstd, int64_t n, int64_t c, float eps) {
  parallel_for(n, rows_per_task(c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
      const float rs = 1.0f / std::sqrt(reduce_dot(xr, xr, c) / static_cast<float>(c) + eps);
      for (int64_t i = 0; i < c; ++i) yr[i] = xr[i] * rs * w[i];
      rstd[r] = rs;
    }
  });
}

// dx += rstd·(g − x̂·mean(g⊙x̂)) with g = dy⊙w, x̂ = x·rstd; dw += Σ dy⊙x̂, summed per task then reduced.
void rms_norm_backward(const float* x, const float* w, const float* rstd, const float* dy, Nullable<float> dx,
                       Nullable<float> dw, int64_t n, int64_t c) {
  rows_with_partials(n, c, {dw}, [&](int64_t r0, int64_t r1, float* pw) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      const float* g = dy + r * c;
      const float rs = rstd[r];
      const float gx_mean = reduce16(c, [&](int64_t i) { return g[i] * w[i] * xr[i] * rs; }) / static_cast<float>(c);
      for (int64_t i = 0; i < c; ++i) pw[i] += g[i] * xr[i] * rs;
      if (dx) {
        float* d = dx + r * c;
        for (int64_t i = 0; i < c; ++i) d[i] += rs * (g[i] * w[i] - xr[i] * rs * gx_mean);
      }
    }
  });
}

void swiglu_forward(const float* h, float* y, int64_t n, int64_t f) {
  parallel_for(n, rows_per_task(f), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* gate = h + 2 * r * f;
      const float* up = gate + f;
      float* yr = y + r * f;
      for (int64_t i = 0; i < f; ++i) yr[i] = gate[i] * sigmoid(gate[i]) * up[i];
    }
  });
}

namespace {

// One row of swiglu_backward. The overwrite choice is a template argument and
// the row's pointers are __restrict (dh never overlaps h or dy): with the
// choice inside the loop and possible aliasing between the four rows, the
// compiler left the loop scalar.
template <bool kOverwrite>
void swiglu_backward_row(const float* __restrict gate, const float* __restrict up, const float* __restrict d,
                         float* __restrict dgate, float* __restrict dup, int64_t f) {
  for (int64_t i = 0; i < f; ++i) {
    const float s = sigmoid(gate[i]);
    const float dg = d[i] * up[i] * s * (1.0f + gate[i] * (1.0f - s));
    const float du = d[i] * gate[i] * s;
    dgate[i] = kOverwrite ? dg : dgate[i] + dg;
    dup[i] = kOverwrite ? du : dup[i] + du;
  }
}

}  // namespace

void swiglu_backward(const float* h, const float* dy, float* dh, int64_t n, int64_t f, bool overwrite) {
  parallel_for(n, rows_per_task(f), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* gate = h + 2 * r * f;
      float* dgate = dh + 2 * r * f;
      if (overwrite)
        swiglu_backward_row<true>(gate, gate + f, dy + r * f, dgate, dgate + f, f);
      else
        swiglu_backward_row<false>(gate, gate + f, dy + r * f, dgate, dgate + f, f);
    }
  });
}

namespace {

// y = R x (sign +1) or y += Rᵀ x (sign −1, accumulate) on one row's rotated heads; the rest copied or added.
template <bool kTranspose>
void rotate_rows(const float* x, float* y, const float* cos, const float* sin, const int32_t* positions, int64_t n,
                 int64_t width, int64_t rotated, int64_t dh) {
  const int64_t half = dh / 2;
  parallel_for(n, rows_per_task(width), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * width;
      float* yr = y + r * width;
      const float* c = cos + positions[r] * half;
      const float* s = sin + positions[r] * half;
      for (int64_t h = 0; h < rotated; h += dh) {
        const float* a = xr + h;
        const float* b = xr + h + half;
        float* ya = yr + h;
        float* yb = yr + h + half;
        for (int64_t i = 0; i < half; ++i) {
          if (kTranspose) {
            ya[i] += a[i] * c[i] + b[i] * s[i];
            yb[i] += b[i] * c[i] - a[i] * s[i];
          } else {
            ya[i] = a[i] * c[i] - b[i] * s[i];
            yb[i] = b[i] * c[i] + a[i] * s[i];
          }
        }
      }
      for (int64_t i = rotated; i < width; ++i) yr[i] = kTranspose ? yr[i] + xr[i] : xr[i];
    }
  });
}

}  // namespace

void rotary_forward(const float* x, float* y, const float* cos, const float* sin, const int32_t* positions, int64_t n,
                    int64_t width, int64_t rotated, int64_t dh, int64_t /*max_pos: checked by the caller*/) {
  rotate_rows<false>(x, y, cos, sin, positions, n, width, rotated, dh);
}

void rotary_backward(const float* dy, float* dx, const float* cos, const float* sin, const int32_t* positions,
                     int64_t n, int64_t width, int64_t rotated, int64_t dh,
                     int64_t /*max_pos: checked by the caller*/) {
  rotate_rows<true>(dy, dx, cos, sin, positions, n, width, rotated, dh);
}

}  // namespace HSM_ISA
}  // namespace hsm
