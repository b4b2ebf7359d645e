// The native kernel set. Every file under native/kernels/ is compiled three
// times (AVX-512, AVX2+FMA, portable) into its own namespace; at load time
// dispatch.cc picks the best table the CPU supports. Each table entry has the
// same contract as the TypeScript `Kernels` interface in src/backend/kernels.ts.
#pragma once
#include <cstdint>

namespace hsm {

// C[b] (+)= op(A[b]) · op(B[b]) for b in [0, batch), row-major, contiguous.
// op(A) is M×K (A stored K×M when trans_a), op(B) is K×N (B stored N×K when
// trans_b). stride_* are element offsets between batch items (0 broadcasts).
struct MatmulArgs {
  const float* a;
  const float* b;
  float* c;
  int64_t m, k, n;
  bool trans_a, trans_b;
  bool accumulate;  // C += result instead of C = result
  int64_t batch;
  int64_t stride_a, stride_b, stride_c;
  // Optional (nullptr: none): C = op(A)·op(B) + bias, bias (N) added to every
  // row of every item. Never combined with accumulate.
  const float* bias;
  // Optional elementwise step on each finished tile of C while it is in L1
  // (one item, no accumulate), with aux laid out like C:
  //   kGelu:     aux = gelu(C)           (C keeps the pre-activation)
  //   kGeluGrad: C = C · gelu'(aux)      (aux holds the pre-activation)
  // aux must not overlap a or b: it is written while other tiles still read them.
  int epilogue;
  float* aux;
};

enum MatmulEpilogue { kEpilogueNone = 0, kEpilogueGelu = 1, kEpilogueGeluGrad = 2 };

// Causal multi-head attention on a packed qkv tensor, as llm.c lays it out:
// qkv is (B, T, 3·C) with q = [.., 0:C], k = [.., C:2C], v = [.., 2C:3C],
// head h owning channels [h·Dh, (h+1)·Dh) of each; C = H·Dh.
struct AttentionShape {
  int64_t b, t, h, dh;
};

struct KernelTable {
  const char* isa;
  void (*matmul)(const MatmulArgs& args);
  // out: (B, T, C); lse: (B, H, T) row log-sum-exp of the scaled scores, kept
  // for the backward pass so no T×T matrix is ever stored.
  void (*attention_forward)(const float* qkv, float* out, float* lse,
                            const AttentionShape& s);
  // Accumulates into dqkv (B, T, 3C).
  void (*attention_backward)(const float* qkv, const float* out, const float* lse,
                             const float* dout, float* dqkv, const AttentionShape& s);
  // The rest mirror the TypeScript Kernels interface one to one.
  void (*attention_decode)(const float* q, const float* keys, const float* values, float* out, int64_t t, int64_t h, int64_t dh);
  void (*layer_norm_forward)(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int64_t n, int64_t c, float eps);
  void (*layer_norm_backward)(const float* x, const float* w, const float* mean, const float* rstd, const float* dy, float* dx, float* dw, float* db, int64_t n, int64_t c);
  void (*softmax_forward)(const float* x, float* y, int64_t n, int64_t c);
  void (*softmax_backward)(const float* y, const float* dy, float* dx, int64_t n, int64_t c);
  void (*cross_entropy_forward)(const float* logits, const int32_t* targets, float* lse, float* losses, int64_t n, int64_t v);
  void (*cross_entropy_backward)(const float* logits, const int32_t* targets, const float* lse, float* dlogits, float scale, int64_t n, int64_t v);
  void (*add_forward)(const float* a, const float* b, float* out, int64_t outer, int64_t inner);
  void (*add_backward)(const float* dy, float* da, float* db, int64_t outer, int64_t inner);
  void (*mul_forward)(const float* a, const float* b, float* out, int64_t outer, int64_t inner);
  void (*mul_backward)(const float* a, const float* b, const float* dy, float* da, float* db, int64_t outer, int64_t inner);
  void (*scale)(const float* x, float alpha, float* out, int64_t n);
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);
  void (*gelu_forward)(const float* x, float* y, int64_t n);
  void (*gelu_backward)(const float* x, const float* dy, float* dx, int64_t n, bool overwrite);
  void (*sigmoid_forward)(const float* x, float* y, int64_t n);
  void (*sigmoid_backward)(const float* y, const float* dy, float* dx, int64_t n);
  double (*sum_squares)(const float* x, int64_t n);
  double (*sum)(const float* x, int64_t n);
  void (*embedding_forward)(const float* weight, const int32_t* idx, float* out, int64_t n, int64_t c);
  void (*embedding_backward)(const int32_t* idx, const float* dout, float* dweight, int64_t n, int64_t c);
  void (*group_sum)(const float* x, float* out, int64_t n, int64_t c, int64_t g);
  void (*group_expand)(const float* x, float* out, int64_t n, int64_t c, int64_t g, bool accumulate);
  void (*shift_forward)(const float* x, float* y, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
  void (*shift_backward)(const float* dy, float* dx, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
  void (*shift_mix_forward)(const float* x, const float* a, const float* w, float* y, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
  void (*shift_mix_backward)(const float* x, const float* a, const float* w, const float* dy, float* dx, float* da, float* dw, int64_t b, int64_t t, int64_t c, const int32_t* shifts, int64_t n_groups);
  void (*adamw)(float* param, const float* grad, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, float grad_scale, int64_t step);
};

namespace avx512 { const KernelTable& table(); }
namespace avx2 { const KernelTable& table(); }
namespace generic { const KernelTable& table(); }

}  // namespace hsm
