// Fused HSM pair mix, y_t = a ⊙ x_t + w ⊙ x_{t−s}: one pass instead of a
// shift, two products and a sum (and their temporaries). Shapes: x, y are
// (B, T, C); a, w are (C); channel group g of G uses shift s_g.
#include "kernels.h"

#include <algorithm>
#include <vector>

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

// Each task owns a range of rows of dx (it reads dy at t and t + s, writes dx at t),
// and sums its share of da and dw in scratch rows that are added up at the end.
void shift_mix_backward(const float* x, const float* a, const float* w, const float* dy, float* dx, float* da, float* dw,
                        int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups) {
  const int64_t width = c / n_groups, rows = b * t;
  const int64_t tasks = std::min<int64_t>(num_threads(), std::max<int64_t>(1, rows * c / (1 << 15)));
  static std::vector<float> scratch;
  if (static_cast<int64_t>(scratch.size()) < tasks * 2 * c) scratch.resize(tasks * 2 * c);
  float* partial = scratch.data();
  parallel_tasks(tasks, [&](int64_t task) {
    float* pa = partial + task * 2 * c;
    float* pw = pa + c;
    std::fill(pa, pa + 2 * c, 0.0f);
    for (int64_t r = rows * task / tasks; r < rows * (task + 1) / tasks; ++r) {
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
  for (int64_t task = 0; task < tasks; ++task) {
    const float* pa = partial + task * 2 * c;
    if (da) for (int64_t i = 0; i < c; ++i) da[i] += pa[i];
    if (dw) for (int64_t i = 0; i < c; ++i) dw[i] += pa[c + i];
  }
}

}  // namespace HSM_ISA
}  // namespace hsm
