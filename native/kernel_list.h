// The native kernel ABI: one line per kernel, X(c_name, jsName, return type, (parameters)).
//
// Everything else is generated from this list: the per-ISA declarations
// (kernels/kernels.h), the KernelTable members (kernel_table.h), each ISA's
// table (kernels/table.cc) and the N-API bindings (addon.cc). The TypeScript
// side declares the same ABI in src/backend/kernel-abi.ts; on every load
// src/backend/native.ts compares the two through the addon's `kernelSignatures`.
//
// A parameter's C++ type is its ABI kind (addon.cc reads each argument by it):
//   const float*            Float32Array, read               "f32"
//   float*                  Float32Array, written            "f32 out"
//   Nullable<const float>   Float32Array or null, read       "f32?"
//   Nullable<float>         Float32Array or null, written    "f32? out"
//   const int32_t*          Int32Array                       "i32"
//   int64_t                 non-negative integer             "int"
//   float, double           number                           "float"
//   bool                    boolean                          "bool"
// Only scalars and pointers, no structs: a wasm32 build can export these as they are.
// Shapes and semantics are documented on the TypeScript `Kernels` interface.
#pragma once
#include <cstdint>

namespace hsm {

// A pointer the caller may pass as null (a gradient that is not wanted, an
// absent bias). A distinct type only so the bindings know null is allowed;
// kernels use it as the plain pointer it converts to.
template <class T>
struct Nullable {
  T* ptr;
  operator T*() const { return ptr; }
};

}  // namespace hsm

#define HSM_KERNELS(X)                                                                                                 \
  X(matmul, matmul, void,                                                                                              \
    (const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, bool trans_a, bool trans_b,            \
     bool accumulate, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c, Nullable<const float> bias, \
     int64_t epilogue, Nullable<float> aux))                                                                           \
  X(pack_matmul_b, packMatmulB, void, (const float* b, float* packed, int64_t k, int64_t n, bool trans_b))             \
  X(matmul_packed_b, matmulPackedB, void,                                                                              \
    (const float* a, const float* packed, float* c, int64_t m, int64_t k, int64_t n, Nullable<const float> bias,       \
     int64_t epilogue, Nullable<float> aux))                                                                           \
  X(attention_forward, attentionForward, void,                                                                         \
    (const float* qkv, float* out, float* lse, int64_t b, int64_t t, int64_t h, int64_t dh))                           \
  X(attention_backward, attentionBackward, void,                                                                       \
    (const float* qkv, const float* out, const float* lse, const float* dout, float* dqkv, int64_t b, int64_t t,       \
     int64_t h, int64_t dh))                                                                                           \
  X(attention_decode, attentionDecode, void,                                                                           \
    (const float* q, const float* keys, const float* values, float* out, int64_t t, int64_t h, int64_t dh))            \
  X(layer_norm_forward, layerNormForward, void,                                                                        \
    (const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int64_t n, int64_t c,         \
     float eps))                                                                                                       \
  X(layer_norm_backward, layerNormBackward, void,                                                                      \
    (const float* x, const float* w, const float* mean, const float* rstd, const float* dy, Nullable<float> dx,        \
     Nullable<float> dw, Nullable<float> db, int64_t n, int64_t c))                                                    \
  X(rms_norm_forward, rmsNormForward, void,                                                                            \
    (const float* x, const float* w, float* y, float* rstd, int64_t n, int64_t c, float eps))                          \
  X(rms_norm_backward, rmsNormBackward, void,                                                                          \
    (const float* x, const float* w, const float* rstd, const float* dy, Nullable<float> dx, Nullable<float> dw,       \
     int64_t n, int64_t c))                                                                                            \
  X(swiglu_forward, swigluForward, void, (const float* h, float* y, int64_t n, int64_t f))                             \
  X(swiglu_backward, swigluBackward, void,                                                                             \
    (const float* h, const float* dy, float* dh, int64_t n, int64_t f, bool overwrite))                                \
  X(rotary_forward, rotaryForward, void,                                                                               \
    (const float* x, float* y, const float* cos, const float* sin, const int32_t* positions, int64_t n, int64_t width, \
     int64_t rotated, int64_t dh, int64_t max_pos))                                                                    \
  X(rotary_backward, rotaryBackward, void,                                                                             \
    (const float* dy, float* dx, const float* cos, const float* sin, const int32_t* positions, int64_t n,              \
     int64_t width, int64_t rotated, int64_t dh, int64_t max_pos))                                                     \
  X(softmax_forward, softmaxForward, void, (const float* x, float* y, int64_t n, int64_t c))                           \
  X(softmax_backward, softmaxBackward, void, (const float* y, const float* dy, float* dx, int64_t n, int64_t c))       \
  X(cross_entropy_forward, crossEntropyForward, void,                                                                  \
    (const float* logits, const int32_t* targets, float* lse, float* losses, int64_t n, int64_t v))                    \
  X(cross_entropy_backward, crossEntropyBackward, void,                                                                \
    (const float* logits, const int32_t* targets, const float* lse, float* dlogits, float scale, int64_t n,            \
     int64_t v))                                                                                                       \
  X(add_forward, addForward, void, (const float* a, const float* b, float* out, int64_t outer, int64_t inner))         \
  X(add_backward, addBackward, void,                                                                                   \
    (const float* dy, Nullable<float> da, Nullable<float> db, int64_t outer, int64_t inner))                           \
  X(mul_forward, mulForward, void, (const float* a, const float* b, float* out, int64_t outer, int64_t inner))         \
  X(mul_backward, mulBackward, void,                                                                                   \
    (const float* a, const float* b, const float* dy, Nullable<float> da, Nullable<float> db, int64_t outer,           \
     int64_t inner))                                                                                                   \
  X(scale, scale, void, (const float* x, float alpha, float* out, int64_t n))                                          \
  X(axpy, axpy, void, (float alpha, const float* x, float* y, int64_t n))                                              \
  X(gelu_forward, geluForward, void, (const float* x, float* y, int64_t n))                                            \
  X(gelu_backward, geluBackward, void, (const float* x, const float* dy, float* dx, int64_t n, bool overwrite))        \
  X(sigmoid_forward, sigmoidForward, void, (const float* x, float* y, int64_t n))                                      \
  X(sigmoid_backward, sigmoidBackward, void, (const float* y, const float* dy, float* dx, int64_t n))                  \
  X(sum_squares, sumSquares, double, (const float* x, int64_t n))                                                      \
  X(sum, sum, double, (const float* x, int64_t n))                                                                     \
  X(embedding_forward, embeddingForward, void,                                                                         \
    (const float* weight, const int32_t* idx, float* out, int64_t n, int64_t c))                                       \
  X(embedding_backward, embeddingBackward, void,                                                                       \
    (const int32_t* idx, const float* dout, float* dweight, int64_t n, int64_t c))                                     \
  X(group_sum, groupSum, void, (const float* x, float* out, int64_t n, int64_t c, int64_t g))                          \
  X(group_expand, groupExpand, void, (const float* x, float* out, int64_t n, int64_t c, int64_t g, bool accumulate))   \
  X(columns_forward, columnsForward, void,                                                                             \
    (const float* x, float* out, int64_t n, int64_t c, int64_t start, int64_t width))                                  \
  X(columns_backward, columnsBackward, void,                                                                           \
    (const float* dy, float* dx, int64_t n, int64_t c, int64_t start, int64_t width))                                  \
  X(shift_forward, shiftForward, void,                                                                                 \
    (const float* x, float* y, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups))              \
  X(shift_backward, shiftBackward, void,                                                                               \
    (const float* dy, float* dx, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups))            \
  X(shift_mix_forward, shiftMixForward, void,                                                                          \
    (const float* x, const float* a, const float* w, float* y, int64_t b, int64_t t, int64_t c, const int32_t* shifts, \
     int64_t n_groups))                                                                                                \
  X(shift_mix_backward, shiftMixBackward, void,                                                                        \
    (const float* x, const float* a, const float* w, const float* dy, Nullable<float> dx, Nullable<float> da,          \
     Nullable<float> dw, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups))                    \
  X(fma_peak, fmaPeak, double, (float a, float b, int64_t iterations, int64_t tasks))                                  \
  X(adamw, adamw, void,                                                                                                \
    (float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,    \
     float weight_decay, float grad_scale, int64_t step))
