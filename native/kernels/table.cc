// Assembles this ISA's kernel table (compiled once per ISA, like every file here).
#include "kernels.h"

#define HSM_STR2(x) #x
#define HSM_STR(x) HSM_STR2(x)

namespace hsm {
namespace HSM_ISA {

const KernelTable& table() {
  static const KernelTable t = {
      HSM_STR(HSM_ISA),
      &matmul,
      &attention_forward,
      &attention_backward,
      &attention_decode,
      &layer_norm_forward,
      &layer_norm_backward,
      &softmax_forward,
      &softmax_backward,
      &cross_entropy_forward,
      &cross_entropy_backward,
      &add_forward,
      &add_backward,
      &mul_forward,
      &mul_backward,
      &scale,
      &axpy,
      &gelu_forward,
      &gelu_backward,
      &sigmoid_forward,
      &sigmoid_backward,
      &sum_squares,
      &sum,
      &embedding_forward,
      &embedding_backward,
      &group_sum,
      &group_expand,
      &shift_forward,
      &shift_backward,
      &shift_mix_forward,
      &shift_mix_backward,
      &adamw,
  };
  return t;
}

}  // namespace HSM_ISA
}  // namespace hsm
