// Fused AdamW: one pass reads the gradient and updates m, v and the parameter.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace hsm {
namespace HSM_ISA {

// torch.optim.AdamW arithmetic: p ← p·(1 − lr·wd) − (lr/bc1)·m / (√v/√bc2 + ε),
// with g scaled by grad_scale (global-norm clipping) before the moments.
void adamw(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
           float eps, float weight_decay, float grad_scale, int64_t step) {
  const float decay = 1.0f - lr * weight_decay;
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(beta1), static_cast<double>(step)));
  const float inv_bc2_sqrt =
      1.0f / static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step))));
  const float step_size = lr / bc1;
  parallel_for(n, 1 << 15, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      const float g = grad[i] * grad_scale;
      const float mi = beta1 * m[i] + (1.0f - beta1) * g;
      const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] * decay - step_size * mi / (std::sqrt(vi) * inv_bc2_sqrt + eps);
    }
  });
}

}  // namespace HSM_ISA
}  // namespace hsm
