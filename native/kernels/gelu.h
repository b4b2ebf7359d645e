// GELU (tanh approximation) and its derivative for one value, branch-free so
// loops over them vectorize; shared by the elementwise kernels and the matmul
// epilogues.
#pragma once
#include "fast_math.h"

namespace hsm {

constexpr float kGeluC = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluA = 0.044715f;

// gelu(v) = 0.5·v·(1 + tanh u) = v·σ(2u), u = √(2/π)(v + 0.044715v³). The
// sigmoid form avoids the cancellation in 1 + tanh u for negative v.
// V is float or a vector type of fast_exp: the vector forms compute each lane
// with the same operations as the float form.
template <class V>
inline V gelu_value(V v) {
  return v / (1.0f + fast_exp(-2.0f * kGeluC * (v + kGeluA * v * v * v)));
}

// d gelu(v) / dv = σ + 2v·σ(1 − σ)·u', with σ = σ(2u) (the derivative of the form above).
template <class V>
inline V gelu_grad(V v) {
  const V sig = 1.0f / (1.0f + fast_exp(-2.0f * kGeluC * (v + kGeluA * v * v * v)));
  const V dudx = kGeluC * (1.0f + 3.0f * kGeluA * v * v);
  return sig + 2.0f * v * sig * (1.0f - sig) * dudx;
}

}  // namespace hsm
