// Fused HSM pair mix, y_t = a ⊙ x_t + w ⊙ x_{t−s}: one pass instead of a
// shift, two products and a sum (and their temporaries). Shapes: x, y are
// (B, T, C); a, w are (C); channel group g of G uses shift s_g.
#include <algorithm>

#include "kernels.h"
#include "reduce.h"

namespace hsm {
namespace HSM_ISA {

void shift_mix_forward(const float* x, const float* a, const float* w, float* y, int64_t b, int64_t t, int64_t c,
                       const int32_t* shifts, int64_t n_groups) {
  const int64_t width = c / n_groups;
  parallel_for(b * t, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, c)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ti = r % t;
      const float* xr = x + r * c;
      float* yr = y + r * c;
      for (int64_t g = 0; g < n_groups; ++g) {
        const int64_t s = shifts[g], c0 = g * width, c1 = c0 + width;
        if (ti >= s) {
          const float* xp = xr - s * c;
          for (int64_t i = c0; i < c1; ++i) yr[i] = a[i] * xr[i] + w[i] * xp[i];
        } else {
          for (int64_t i = c0; i < c1; ++i) yr[i] = a[i] * xr[i];
        }
      }
    }
  });
}

void shift_mix_backward(const float* x, const float* a, const float* w, const float* dy, Nullable<float> dx,
                        Nullable<float> da, Nullable<float> dw, int64_t b, int64_t t, int64_t c, const int32_t* shifts,
                        int64_t n_groups) {
  const int64_t width = c / n_groups;
  rows_with_partials(b * t, c, {da, dw}, [&](int64_t r0, int64_t r1, float* partial) {
    float* pa = partial;
    float* pw = partial + c;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ti = r % t;
      const float* xr = x + r * c;
      const float* g = dy + r * c;
      for (int64_t grp = 0; grp < n_groups; ++grp) {
        const int64_t s = shifts[grp], c0 = grp * width, c1 = c0 + width;
        if (dx) {
          float* d = dx + r * c;
          if (ti + s < t) {
            const float* gn = g + s * c;
            for (int64_t i = c0; i < c1; ++i) d[i] += a[i] * g[i] + w[i] * gn[i];
          } else {
            for (int64_t i = c0; i < c1; ++i) d[i] += a[i] * g[i];
          }
        }
        for (int64_t i = c0; i < c1; ++i) pa[i] += g[i] * xr[i];
        if (ti >= s) {
          const float* xp = xr - s * c;
          for (int64_t i = c0; i < c1; ++i) pw[i] += g[i] * xp[i];
        }
      }
    }
  });
}

}  // namespace HSM_ISA
}  // namespace hsm
