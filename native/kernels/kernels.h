// Declarations of one ISA's kernels. Every .cc under native/kernels/ is
// compiled once per ISA with -DHSM_ISA=<namespace> and matching -m flags
// (see binding.gyp), so the same source yields avx512::, avx2:: and generic::.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../kernel_table.h"
#include "../threadpool.h"

#ifndef HSM_ISA
#error "HSM_ISA must name the instruction-set namespace (avx512, avx2, generic)"
#endif

namespace hsm {
namespace HSM_ISA {

void matmul(const MatmulArgs& args);
void attention_forward(const float* qkv, float* out, float* lse, const AttentionShape& s);
void attention_backward(const float* qkv, const float* out, const float* lse,
                        const float* dout, float* dqkv, const AttentionShape& s);

void attention_decode(const float* q, const float* keys, const float* values, float* out, int64_t t, int64_t h,
                      int64_t dh);
void layer_norm_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                        int64_t n, int64_t c, float eps);
void layer_norm_backward(const float* x, const float* w, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dw, float* db, int64_t n, int64_t c);
void softmax_forward(const float* x, float* y, int64_t n, int64_t c);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t n, int64_t c);
void cross_entropy_forward(const float* logits, const int32_t* targets, float* lse, float* losses, int64_t n, int64_t v);
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse, float* dlogits, float scale,
                            int64_t n, int64_t v);
void add_forward(const float* a, const float* b, float* out, int64_t outer, int64_t inner);
void add_backward(const float* dy, float* da, float* db, int64_t outer, int64_t inner);
void mul_forward(const float* a, const float* b, float* out, int64_t outer, int64_t inner);
void mul_backward(const float* a, const float* b, const float* dy, float* da, float* db, int64_t outer, int64_t inner);
void scale(const float* x, float alpha, float* out, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);
void gelu_forward(const float* x, float* y, int64_t n);
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n, bool overwrite);
void sigmoid_forward(const float* x, float* y, int64_t n);
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n);
double sum_squares(const float* x, int64_t n);
double sum(const float* x, int64_t n);
void embedding_forward(const float* weight, const int32_t* idx, float* out, int64_t n, int64_t c);
void embedding_backward(const int32_t* idx, const float* dout, float* dweight, int64_t n, int64_t c);
void group_sum(const float* x, float* out, int64_t n, int64_t c, int64_t g);
void group_expand(const float* x, float* out, int64_t n, int64_t c, int64_t g, bool accumulate);
void shift_forward(const float* x, float* y, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
void shift_backward(const float* dy, float* dx, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
void shift_mix_forward(const float* x, const float* a, const float* w, float* y, int64_t b, int64_t t, int64_t c,
                       const int32_t* shifts, int64_t n_groups);
void shift_mix_backward(const float* x, const float* a, const float* w, const float* dy, float* dx, float* da, float* dw,
                        int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
void adamw(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
           float eps, float weight_decay, float grad_scale, int64_t step);

}  // namespace HSM_ISA
}  // namespace hsm
