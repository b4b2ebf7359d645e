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
    // Local copies (__restrict pointers, plain scalars): read through the
    // lambda's captured references, every value could change with each store
    // to m, v or param as far as the compiler knows, and the loop ran scalar.
    float* __restrict p = param;
    const float* __restrict gr = grad;
    float* __restrict mm = m;
    float* __restrict vv = v;
    const float gs = grad_scale, b1 = beta1, b2 = beta2, dec = decay, lr_t = step_size, ibc2 = inv_bc2_sqrt, ep = eps;
    for (int64_t i = s; i < e; ++i) {
      const float g = gr[i] * gs;
      const float mi = b1 * mm[i] + (1.0f - b1) * g;
      const float vi = b2 * vv[i] + (1.0f - b2) * g * g;
      mm[i] = mi;
      vv[i] = vi;
      p[i] = p[i] * dec - lr_t * mi / (std::sqrt(vi) * ibc2 + ep);
    }
  });
}

}  // namespace HSM_ISA
}  // namespace hsm
