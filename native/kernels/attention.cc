// Causal multi-head softmax attention, forward and backward, flash style.
//
// Shapes (C = H·Dh, head h owns channels [h·Dh, (h+1)·Dh) of q, k and v):
//   qkv  (B, T, 3C)   q = [.., 0:C], k = [.., C:2C], v = [.., 2C:3C]
//   out  (B, T, C)    lse (B, H, T) = log Σ_{u≤t} exp(q_t·k_u / √Dh)
//   dout (B, T, C)    dqkv (B, T, 3C), accumulated (+=)
//
// Why hand-written: the addon has no BLAS and no OpenMP, and the obvious
// implementation (scores as a T×T matrix per head, softmax, matmul) spends its
// time moving that matrix through memory. Here nothing T×T exists; the largest
// temporaries are 64×64 tiles in per-thread scratch. The inner loops are
// explicit AVX-512 / AVX2 intrinsics (portable GCC vector extensions for the
// generic build) because the compiler does not find this register blocking.
//
// Blocking. Queries and keys are cut into blocks of kBlock = 64 rows; the
// causal mask lets query block qb see key blocks 0..qb only, and only the
// diagonal block (kb == qb) needs masking. Within a diagonal block, strips of
// 16 keys only meet queries at or after the strip, so the work above the
// strip diagonal is skipped too (see "live part" below).
//
// Every tile is stored "query-minor": keys (or head channels) down the rows,
// the 64 queries of the block along a row. Then all per-query softmax
// bookkeeping (running max, exp, sums, rescaling) is elementwise vector work
// across a row, and every product in both passes has a single shape,
//     C[r, :] (+)= Σ_k A(r, k) · B[k, :]          (gemm_tile below)
// B's rows are contiguous vectors, A's scalars are broadcast and can be read
// from qkv in place through two strides. So K and V are never copied, only
// Q (and in the backward dO) are repacked, and any Dh works unpadded.
// Register tile: 6 rows × 64 columns (AVX-512), 6 × 16 (AVX2), 6 × 8 (generic).
//
// Forward: one work item = (b, h, query block). It walks key blocks 0..qb:
//   S^T = K_kb · (Q_qb/√Dh)^T, masked     (nk × 64)   score_tile
//   online softmax: running max m and sum l per query,
//     P^T = exp(S^T − m), α = exp(m_old − m)           online_softmax_update
//   O^T = O^T·diag(α) + V_kb^T · P^T      (Dh × 64)   rescale_output, accumulate_keys
// then out = O / l, lse = m + log l. Work items are issued longest first (late
// query blocks see more keys) so the pool's dynamic hand-out balances the
// causal triangle.
//
// Backward: one work item = (b, h), which owns that head's slice of dq, dk
// and dv, so there are no write races. It packs Q^T, Q, dO^T, dO, lse and
// D = rowsum(dO ⊙ O) once, then for each key block kb keeps dK, dV tiles and
// walks the query blocks qb ≥ kb (backward_tile):
//   P^T  = exp(S^T − lse)            dP^T = V_kb · dO_qb^T
//   dS^T = P^T ⊙ (dP^T − D)
//   dV  += P^T · dO_qb     dK += dS^T · Q_qb/√Dh     dQ^T += K_kb^T · dS^T
// dQ^T is a (Dh × T) per-thread accumulator added into dqkv at the end.
// (With fewer (b, h) pairs than threads some threads idle.)
//
// Threading contract: called from one thread at a time (the pool is not
// re-entrant). Scratch is thread_local, 64-byte aligned, grown on demand and
// reused, so steady-state calls do not allocate; it is about
// (2·Dh + 64)·64 floats per thread for the forward and 5·T·Dh floats per
// thread for the backward. No pointer into the caller's buffers is kept
// after a call returns.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>

#include "fast_math.h"  // fast_exp, and <immintrin.h> for the AVX builds
#include "kernels.h"

namespace hsm {
namespace HSM_ISA {
namespace {

// ---------------------------------------------------------------------------
// A minimal vector type per ISA: kW floats. Its exp is fast_exp (fast_math.h),
// whose vector forms give exactly 0 below -87: masked scores and α = exp(−inf) vanish.
// ---------------------------------------------------------------------------
#if defined(__AVX512F__)
constexpr int kW = 16;
constexpr int kR = 6;   // micro-tile rows
constexpr int kNV = 4;  // micro-tile width in vectors: 6×4 zmm accumulators
using vf = __m512;
inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vf x) { _mm512_storeu_ps(p, x); }
inline vf vset(float x) { return _mm512_set1_ps(x); }
inline vf vzero() { return _mm512_setzero_ps(); }
inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kW = 8;
constexpr int kR = 6;  // 6×2 ymm accumulators
constexpr int kNV = 2;
using vf = __m256;
inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vf x) { _mm256_storeu_ps(p, x); }
inline vf vset(float x) { return _mm256_set1_ps(x); }
inline vf vzero() { return _mm256_setzero_ps(); }
inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
#elif defined(__GNUC__)
// Portable: GCC/Clang vector extensions, 4 floats, mapped onto whatever
// 128-bit SIMD the target has (SSE2 on x86-64, NEON on arm64).
constexpr int kW = 4;
constexpr int kR = 6;  // 6×2 accumulators = 12 of 16 xmm
constexpr int kNV = 2;
typedef float vf __attribute__((vector_size(16)));
typedef int32_t vi __attribute__((vector_size(16)));
inline vf vload(const float* p) {
  vf r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
inline void vstore(float* p, vf a) { std::memcpy(p, &a, sizeof a); }
inline vf vset(float s) { return vf{s, s, s, s}; }
inline vf vzero() { return vset(0.0f); }
inline vf vadd(vf a, vf b) { return a + b; }
inline vf vsub(vf a, vf b) { return a - b; }
inline vf vmul(vf a, vf b) { return a * b; }
inline vf vfma(vf a, vf b, vf c) { return a * b + c; }
inline vf vselect(vi mask, vf a, vf b) {  // mask lanes are 0 or −1
  return reinterpret_cast<vf>((mask & reinterpret_cast<vi>(a)) | (~mask & reinterpret_cast<vi>(b)));
}
inline vf vmax(vf a, vf b) { return vselect(a > b, a, b); }
#else
// Any other compiler: one float per "vector"; correct, not fast.
constexpr int kW = 1;
constexpr int kR = 4;
constexpr int kNV = 4;
using vf = float;
inline vf vload(const float* p) { return *p; }
inline void vstore(float* p, vf a) { *p = a; }
inline vf vset(float s) { return s; }
inline vf vzero() { return 0.0f; }
inline vf vadd(vf a, vf b) { return a + b; }
inline vf vsub(vf a, vf b) { return a - b; }
inline vf vmul(vf a, vf b) { return a * b; }
inline vf vmax(vf a, vf b) { return a > b ? a : b; }
inline vf vfma(vf a, vf b, vf c) { return a * b + c; }
#endif

// In-register transpose of a kW×kW block: x[r] = row r in, x[c] = column c out.
// Used to move Q/dO into query-minor tiles and results back out.
#if defined(__AVX512F__)
constexpr bool kFastTranspose = true;
inline void transpose_block(vf* x) {
  // 4×4 transposes inside each 128-bit lane: w[4g + m], lane k, holds
  // column 4k + m of rows 4g .. 4g+3.
  vf w[16];
  for (int g = 0; g < 4; ++g) {
    const vf* r = x + 4 * g;
    const vf u0 = _mm512_unpacklo_ps(r[0], r[1]), u1 = _mm512_unpackhi_ps(r[0], r[1]);
    const vf u2 = _mm512_unpacklo_ps(r[2], r[3]), u3 = _mm512_unpackhi_ps(r[2], r[3]);
    w[4 * g + 0] = _mm512_shuffle_ps(u0, u2, 0x44);
    w[4 * g + 1] = _mm512_shuffle_ps(u0, u2, 0xEE);
    w[4 * g + 2] = _mm512_shuffle_ps(u1, u3, 0x44);
    w[4 * g + 3] = _mm512_shuffle_ps(u1, u3, 0xEE);
  }
  // Then a 4×4 transpose of the lanes: column 4k + m gathers lane k of
  // w[m], w[4 + m], w[8 + m], w[12 + m].
  for (int m = 0; m < 4; ++m) {
    const vf x0 = _mm512_shuffle_f32x4(w[m], w[4 + m], 0x44);
    const vf x1 = _mm512_shuffle_f32x4(w[m], w[4 + m], 0xEE);
    const vf x2 = _mm512_shuffle_f32x4(w[8 + m], w[12 + m], 0x44);
    const vf x3 = _mm512_shuffle_f32x4(w[8 + m], w[12 + m], 0xEE);
    x[m] = _mm512_shuffle_f32x4(x0, x2, 0x88);
    x[4 + m] = _mm512_shuffle_f32x4(x0, x2, 0xDD);
    x[8 + m] = _mm512_shuffle_f32x4(x1, x3, 0x88);
    x[12 + m] = _mm512_shuffle_f32x4(x1, x3, 0xDD);
  }
}
#elif defined(__AVX2__) && defined(__FMA__)
constexpr bool kFastTranspose = true;
inline void transpose_block(vf* x) {
  vf w[8];  // as above: w[4g + m], lane k = column 4k + m of rows 4g .. 4g+3
  for (int g = 0; g < 2; ++g) {
    const vf* r = x + 4 * g;
    const vf u0 = _mm256_unpacklo_ps(r[0], r[1]), u1 = _mm256_unpackhi_ps(r[0], r[1]);
    const vf u2 = _mm256_unpacklo_ps(r[2], r[3]), u3 = _mm256_unpackhi_ps(r[2], r[3]);
    w[4 * g + 0] = _mm256_shuffle_ps(u0, u2, 0x44);
    w[4 * g + 1] = _mm256_shuffle_ps(u0, u2, 0xEE);
    w[4 * g + 2] = _mm256_shuffle_ps(u1, u3, 0x44);
    w[4 * g + 3] = _mm256_shuffle_ps(u1, u3, 0xEE);
  }
  for (int m = 0; m < 4; ++m) {
    x[m] = _mm256_permute2f128_ps(w[m], w[4 + m], 0x20);
    x[4 + m] = _mm256_permute2f128_ps(w[m], w[4 + m], 0x31);
  }
}
#else
constexpr bool kFastTranspose = false;  // scalar loops below
inline void transpose_block(vf*) {}
#endif

constexpr int kBlock = 64;  // queries per query block = keys per key block
static_assert(kBlock % (kW * kNV) == 0, "a block row must be whole micro-tiles");
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------------------
// The one product shape: C[r, v·kW ..] (+)= Σ_{k<K} A[r·ars + k·aks] · B[k·bs + v·kW ..]
// A is any strided R×K view (row-major, column-major or straight into qkv),
// B has contiguous rows, C is row-major with stride cs.
// ---------------------------------------------------------------------------
struct GemmArgs {
  const float* a;
  ptrdiff_t ars, aks;  // A(r, k) = a[r·ars + k·aks]
  const float* b;
  ptrdiff_t bs;  // B(k, :) = b + k·bs
  float* c;
  ptrdiff_t cs;  // C(r, :) = c + r·cs
};

// Register tile: R rows × NV vectors of C, accumulated over all K.
template <int R, int NV, bool kAccumulate>
inline void micro_tile(int K, const float* a, ptrdiff_t ars, ptrdiff_t aks, const float* b, ptrdiff_t bs, float* c,
                       ptrdiff_t cs) {
  vf acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = kAccumulate ? vload(c + r * cs + v * kW) : vzero();
  for (int k = 0; k < K; ++k) {
    vf bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = vload(b + v * kW);
    for (int r = 0; r < R; ++r) {
      const vf ar = vset(a[r * ars]);
      for (int v = 0; v < NV; ++v) acc[r][v] = vfma(ar, bv[v], acc[r][v]);
    }
    a += aks;
    b += bs;
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) vstore(c + r * cs + v * kW, acc[r][v]);
}

// Compile-time dispatch of a ragged edge tile (rows ≤ kR, nv ≤ kNV).
template <bool kAcc, int R, int NV = kNV>
inline void edge_tile_nv(int nv, int K, const GemmArgs& g, ptrdiff_t m0, int v0) {
  if constexpr (NV > 1) {
    if (nv < NV) return edge_tile_nv<kAcc, R, NV - 1>(nv, K, g, m0, v0);
  }
  micro_tile<R, NV, kAcc>(K, g.a + m0 * g.ars, g.ars, g.aks, g.b + v0 * kW, g.bs, g.c + m0 * g.cs + v0 * kW, g.cs);
}
template <bool kAcc, int R = kR>
inline void edge_tile(int rows, int nv, int K, const GemmArgs& g, ptrdiff_t m0, int v0) {
  if constexpr (R > 1) {
    if (rows < R) return edge_tile<kAcc, R - 1>(rows, nv, K, g, m0, v0);
  }
  edge_tile_nv<kAcc, R>(nv, K, g, m0, v0);
}

// C (M × N) (+)= A (M × K) · B (K × N); N a multiple of kW.
template <bool kAcc>
void gemm_tile(int M, int N, int K, const GemmArgs& g) {
  const int nvec = N / kW;
  for (int v0 = 0; v0 < nvec; v0 += kNV) {
    const int nv = std::min(kNV, nvec - v0);
    int m0 = 0;
    if (nv == kNV) {
      for (; m0 + kR <= M; m0 += kR)
        micro_tile<kR, kNV, kAcc>(K, g.a + m0 * g.ars, g.ars, g.aks, g.b + v0 * kW, g.bs, g.c + m0 * g.cs + v0 * kW,
                                  g.cs);
    }
    for (; m0 < M; m0 += kR) edge_tile<kAcc>(std::min(kR, M - m0), nv, K, g, m0, v0);
  }
}

// ---------------------------------------------------------------------------
// Per-thread scratch: one 64-byte aligned buffer, grown on demand, never shrunk.
// ---------------------------------------------------------------------------
class Scratch {
 public:
  ~Scratch() { release(); }
  float* get(size_t n) {
    if (n > cap_) {
      release();
      cap_ = std::max(n, cap_ + cap_ / 2);
      data_ = static_cast<float*>(::operator new(cap_ * sizeof(float), std::align_val_t(64)));
    }
    return data_;
  }

 private:
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
  }
  float* data_ = nullptr;
  size_t cap_ = 0;
};

// Carves consecutive 64-byte aligned regions out of one buffer.
struct Carver {
  float* p;
  float* take(size_t n) {
    float* r = p;
    p += (n + 15) / 16 * 16;
    return r;
  }
  static size_t size(size_t n) { return (n + 15) / 16 * 16; }
};

HSM_THREAD_LOCAL Scratch tls_scratch;

inline size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// ---------------------------------------------------------------------------
// Shared tile steps. A "block tile" is kBlock columns wide (one per query);
// its rows are the nk keys of a key block (or the Dh channels of a head).
//
// Diagonal tiles (key block == query block) are cut into strips of kStrip
// keys. Strip s can only meet queries i ≥ s·kStrip, so every step below works
// on the "live" part {(j, i) : strip(j) ≤ strip(i)} only and skips the rest;
// inside the live part the entries with j > i are masked. This saves about
// 40% of the work of a diagonal tile. Off-diagonal tiles are fully live.
// ---------------------------------------------------------------------------
constexpr int kStrip = 16;
static_assert(kStrip % kW == 0 && kBlock % kStrip == 0, "strips must be whole vectors");

// First live column of key row j.
inline int live_from(int j, bool diagonal) { return diagonal ? j / kStrip * kStrip : 0; }

// dst[c·ldd + r] (+)= src[r·lds + c] · scale · (cscale ? cscale[c] : 1)
// for r < rows, c < cols: a transposing copy, kW×kW blocks in registers.
template <bool kAcc>
void transpose_scaled(float* dst, ptrdiff_t ldd, const float* src, ptrdiff_t lds, int rows, int cols, float scale,
                      const float* cscale) {
  auto put = [&](int r, int c) {
    const float v = src[r * lds + c] * (cscale ? scale * cscale[c] : scale);
    float& d = dst[c * ldd + r];
    d = kAcc ? d + v : v;
  };
  int r0 = 0;
  if constexpr (kFastTranspose) {
    for (; r0 + kW <= rows; r0 += kW) {
      int c0 = 0;
      for (; c0 + kW <= cols; c0 += kW) {
        vf x[kW];
        for (int r = 0; r < kW; ++r) x[r] = vload(src + (r0 + r) * lds + c0);
        transpose_block(x);
        for (int c = 0; c < kW; ++c) {
          const vf v = vmul(x[c], vset(cscale ? scale * cscale[c0 + c] : scale));
          float* d = dst + (c0 + c) * ldd + r0;
          vstore(d, kAcc ? vadd(vload(d), v) : v);
        }
      }
      for (int r = r0; r < r0 + kW; ++r)
        for (int c = c0; c < cols; ++c) put(r, c);
    }
  }
  for (int r = r0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) put(r, c);
}

// qt (Dh × ldt) ← (rows [0, nq) of src, rows ld apart, times scale)^T, with
// columns [nq, ncols) zeroed.
void pack_transposed(float* qt, ptrdiff_t ldt, const float* src, ptrdiff_t ld, int nq, int ncols, int dh, float scale) {
  transpose_scaled<false>(qt, ldt, src, ld, nq, dh, scale, nullptr);
  for (int d = 0; d < dh; ++d) std::fill(qt + d * ldt + nq, qt + d * ldt + ncols, 0.0f);
}

// Σ_i a[i]·b[i]
float row_dot(const float* a, const float* b, int n) {
  vf acc = vzero();
  int i = 0;
  for (; i + kW <= n; i += kW) acc = vfma(vload(a + i), vload(b + i), acc);
  float lanes[kW];
  vstore(lanes, acc);
  float sum = 0.0f;
  for (int l = 0; l < kW; ++l) sum += lanes[l];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Y^T (nk × kBlock) = X_block · Q^T with X_block (nk × Dh, rows ld apart) and
// Q^T (Dh × kBlock, rows ldq apart): S^T = K·Q^T and dP^T = V·dO^T. Diagonal
// tiles get the live part only.
void key_query_tile(float* yt, const float* x, ptrdiff_t ld, int nk, const float* qt, ptrdiff_t ldq, int dh,
                    bool diagonal) {
  if (!diagonal) {
    gemm_tile<false>(nk, kBlock, dh, GemmArgs{x, ld, 1, qt, ldq, yt, kBlock});
    return;
  }
  for (int s0 = 0; s0 < nk; s0 += kStrip)
    gemm_tile<false>(std::min(kStrip, nk - s0), kBlock - s0, dh,
                     GemmArgs{x + s0 * ld, ld, 1, qt + s0, ldq, yt + s0 * kBlock + s0, kBlock});
}

// Scores S^T = K_block · (Q/√Dh)^T; on the diagonal tile the causal mask sets
// S^T[j][i] = −inf for i < j (inside the live part), so exp gives exactly 0.
void score_tile(float* st, const float* k, ptrdiff_t ld, int nk, const float* qt, ptrdiff_t ldq, int dh,
                bool diagonal) {
  key_query_tile(st, k, ld, nk, qt, ldq, dh, diagonal);
  if (!diagonal) return;
  for (int j = 0; j < nk; ++j) {
    float* row = st + j * kBlock;
    std::fill(row + live_from(j, true), row + j, kNegInf);
  }
}

// Online softmax over one key block, per query column i:
//   m' = max(m, max_j S[j][i]),  α = exp(m − m'),  P[j][i] = exp(S[j][i] − m')
//   l' = l·α + Σ_j P[j][i]
// S^T is overwritten with P^T (live part); α is returned for rescaling O.
void online_softmax_update(float* st, int nk, bool diagonal, float* m, float* l, float* alpha) {
  for (int c = 0; c < kBlock; c += kW) {
    // Live rows of this column vector: all, or the strips up to its own.
    const int rows = diagonal ? std::min(nk, (c / kStrip + 1) * kStrip) : nk;
    const vf m_old = vload(m + c);
    vf mx = m_old;
    for (int j = 0; j < rows; ++j) mx = vmax(mx, vload(st + j * kBlock + c));
    vf sum = vzero();
    for (int j = 0; j < rows; ++j) {
      const vf p = fast_exp(vsub(vload(st + j * kBlock + c), mx));
      vstore(st + j * kBlock + c, p);
      sum = vadd(sum, p);
    }
    const vf a = fast_exp(vsub(m_old, mx));
    vstore(alpha + c, a);
    vstore(l + c, vfma(vload(l + c), a, sum));
    vstore(m + c, mx);
  }
}

// O^T (Dh × kBlock) ← O^T · diag(α)
void rescale_output(float* ot, int dh, const float* alpha) {
  for (int c = 0; c < kBlock; c += kW) {
    const vf a = vload(alpha + c);
    for (int d = 0; d < dh; ++d) vstore(ot + d * kBlock + c, vmul(vload(ot + d * kBlock + c), a));
  }
}

// Y^T (Dh × kBlock, rows ldy apart) += X_block^T · W^T, X_block (nk × Dh, rows
// ld apart), W^T (nk × kBlock): O^T += V^T·P^T in the forward, dQ^T += K^T·dS^T
// in the backward. The inner dimension is keys, so on a diagonal tile key
// strip s only feeds query columns ≥ s·kStrip.
void accumulate_keys(float* yt, ptrdiff_t ldy, const float* x, ptrdiff_t ld, int nk, const float* wt, int dh,
                     bool diagonal) {
  if (!diagonal) {
    gemm_tile<true>(dh, kBlock, nk, GemmArgs{x, 1, ld, wt, kBlock, yt, ldy});
    return;
  }
  for (int s0 = 0; s0 < nk; s0 += kStrip)
    gemm_tile<true>(dh, kBlock - s0, std::min(kStrip, nk - s0),
                    GemmArgs{x + s0 * ld, 1, ld, wt + s0 * kBlock + s0, kBlock, yt + s0, ldy});
}

// Y (nk × Dhp) += W^T (nk × kBlock) · X (nq × Dhp): dV += P^T·dO and
// dK += dS^T·Q in the backward. The inner dimension is queries, so on a
// diagonal tile key strip s only reads queries ≥ s·kStrip.
void accumulate_queries(float* y, const float* wt, int nk, const float* x, int nq, int dhp, bool diagonal) {
  if (!diagonal) {
    gemm_tile<true>(nk, dhp, nq, GemmArgs{wt, kBlock, 1, x, dhp, y, dhp});
    return;
  }
  for (int s0 = 0; s0 < nk; s0 += kStrip)
    gemm_tile<true>(std::min(kStrip, nk - s0), dhp, nq - s0,
                    GemmArgs{wt + s0 * kBlock + s0, kBlock, 1, x + s0 * dhp, dhp, y + s0 * dhp, dhp});
}

// ---------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------
struct Dims {
  ptrdiff_t B, T, H, Dh, C, ld3;  // ld3 = 3C: row stride of qkv
  int nblocks;                    // ceil(T / kBlock)
  float scale;                    // 1/√Dh
};

Dims make_dims(int64_t b, int64_t t, int64_t h, int64_t dh) {
  Dims d;
  d.B = b;
  d.T = t;
  d.H = h;
  d.Dh = dh;
  d.C = h * dh;
  d.ld3 = 3 * d.C;
  d.nblocks = static_cast<int>((t + kBlock - 1) / kBlock);
  d.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  return d;
}

// One query block of one head: out[b, q0:q0+nq, h·Dh:(h+1)·Dh], lse[b, h, q0:q0+nq].
void forward_block(const float* qkv, float* out, float* lse, const Dims& D, ptrdiff_t b, ptrdiff_t h, int qb) {
  const int dh = static_cast<int>(D.Dh);
  const ptrdiff_t q0 = static_cast<ptrdiff_t>(qb) * kBlock;
  const int nq = static_cast<int>(std::min<ptrdiff_t>(kBlock, D.T - q0));
  const float* base = qkv + b * D.T * D.ld3 + h * D.Dh;  // q[b, 0, head h]

  const size_t tile = static_cast<size_t>(kBlock) * kBlock, dtile = static_cast<size_t>(dh) * kBlock;
  Carver cv{tls_scratch.get(2 * Carver::size(dtile) + Carver::size(tile) + 3 * Carver::size(kBlock))};
  float* qt = cv.take(dtile);  // (Q_qb / √Dh)^T   Dh × kBlock
  float* ot = cv.take(dtile);  // unnormalized O^T Dh × kBlock
  float* st = cv.take(tile);   // S^T then P^T     kBlock × kBlock
  float* m = cv.take(kBlock);  // running max per query
  float* l = cv.take(kBlock);  // running sum per query
  float* alpha = cv.take(kBlock);

  pack_transposed(qt, kBlock, base + q0 * D.ld3, D.ld3, nq, kBlock, dh, D.scale);
  std::fill(ot, ot + dtile, 0.0f);
  std::fill(m, m + kBlock, kNegInf);
  std::fill(l, l + kBlock, 0.0f);

  for (int kb = 0; kb <= qb; ++kb) {
    const ptrdiff_t k0 = static_cast<ptrdiff_t>(kb) * kBlock;
    const int nk = static_cast<int>(std::min<ptrdiff_t>(kBlock, D.T - k0));
    const float* kblk = base + k0 * D.ld3 + D.C;
    const float* vblk = base + k0 * D.ld3 + 2 * D.C;
    const bool diagonal = kb == qb;
    score_tile(st, kblk, D.ld3, nk, qt, kBlock, dh, diagonal);
    online_softmax_update(st, nk, diagonal, m, l, alpha);
    if (kb > 0) rescale_output(ot, dh, alpha);
    accumulate_keys(ot, kBlock, vblk, D.ld3, nk, st, dh, diagonal);
  }

  float* orow = out + (b * D.T + q0) * D.C + h * D.Dh;
  float* lrow = lse + (b * D.H + h) * D.T + q0;
  float* inv_l = alpha;
  for (int i = 0; i < nq; ++i) {
    inv_l[i] = 1.0f / l[i];
    lrow[i] = m[i] + std::log(l[i]);
  }
  transpose_scaled<false>(orow, D.C, ot, kBlock, dh, nq, 1.0f, inv_l);  // out = (O^T)^T / l
}

// ---------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------

// Per-(b, h) packed operands, all padded to Tp = nblocks·kBlock columns/rows.
struct BackwardPack {
  ptrdiff_t Tp, Dhp;
  float* qt;    // (Q/√Dh)^T  Dh × Tp
  float* qp;    // Q/√Dh      Tp × Dhp
  float* dot;   // dO^T       Dh × Tp
  float* dop;   // dO         Tp × Dhp
  float* lse;   // Tp
  float* dsum;  // D = rowsum(dO ⊙ O), Tp
  float* dqt;   // dQ^T accumulator (unscaled), Dh × Tp
  float* pt;    // P^T tile   kBlock × kBlock
  float* dst;   // dP^T then dS^T tile
  float* dk;    // dK tile    kBlock × Dhp
  float* dv;    // dV tile    kBlock × Dhp
};

// One (key block, query block) pair: updates the dK, dV tiles and dQ^T.
// S^T, P^T, dS^T live only in this call's tiles.
void backward_tile(const BackwardPack& p, const float* kblk, const float* vblk, ptrdiff_t ld, int nk, ptrdiff_t q0,
                   int nq, bool diagonal, int dh) {
  const int dhp = static_cast<int>(p.Dhp);
  // P^T = exp(S^T − lse)   (masked entries: exp(−inf) = 0)
  score_tile(p.pt, kblk, ld, nk, p.qt + q0, p.Tp, dh, diagonal);
  for (int j = 0; j < nk; ++j) {
    float* row = p.pt + j * kBlock;
    for (int c = live_from(j, diagonal); c < kBlock; c += kW)
      vstore(row + c, fast_exp(vsub(vload(row + c), vload(p.lse + q0 + c))));
  }
  // dP^T = V_kb · dO_qb^T, then dS^T = P^T ⊙ (dP^T − D)
  key_query_tile(p.dst, vblk, ld, nk, p.dot + q0, p.Tp, dh, diagonal);
  for (int j = 0; j < nk; ++j) {
    float* ds = p.dst + j * kBlock;
    const float* pr = p.pt + j * kBlock;
    for (int c = live_from(j, diagonal); c < kBlock; c += kW)
      vstore(ds + c, vmul(vload(pr + c), vsub(vload(ds + c), vload(p.dsum + q0 + c))));
  }
  // dV += P^T · dO_qb,  dK += dS^T · Q_qb/√Dh,  dQ^T[:, qb] += K_kb^T · dS^T
  accumulate_queries(p.dv, p.pt, nk, p.dop + q0 * p.Dhp, nq, dhp, diagonal);
  accumulate_queries(p.dk, p.dst, nk, p.qp + q0 * p.Dhp, nq, dhp, diagonal);
  accumulate_keys(p.dqt + q0, p.Tp, kblk, ld, nk, p.dst, dh, diagonal);
}

void backward_head(const float* qkv, const float* out, const float* lse, const float* dout, float* dqkv, const Dims& D,
                   ptrdiff_t b, ptrdiff_t h) {
  const int dh = static_cast<int>(D.Dh);
  const ptrdiff_t T = D.T, C = D.C, ld3 = D.ld3;
  BackwardPack p;
  p.Tp = static_cast<ptrdiff_t>(D.nblocks) * kBlock;
  p.Dhp = static_cast<ptrdiff_t>(round_up(static_cast<size_t>(dh), kW));
  const size_t big = static_cast<size_t>(p.Tp) * std::max<ptrdiff_t>(dh, p.Dhp);
  const size_t tile = static_cast<size_t>(kBlock) * kBlock;
  const size_t dtile = static_cast<size_t>(kBlock) * p.Dhp;
  Carver cv{tls_scratch.get(5 * Carver::size(big) + 2 * Carver::size(p.Tp) + 2 * Carver::size(tile) +
                            2 * Carver::size(dtile))};
  p.qt = cv.take(big);
  p.qp = cv.take(big);
  p.dot = cv.take(big);
  p.dop = cv.take(big);
  p.dqt = cv.take(big);
  p.lse = cv.take(p.Tp);
  p.dsum = cv.take(p.Tp);
  p.pt = cv.take(tile);
  p.dst = cv.take(tile);
  p.dk = cv.take(dtile);
  p.dv = cv.take(dtile);

  const float* qh = qkv + b * T * ld3 + h * dh;  // q[b, 0, head h]; k at +C, v at +2C
  const float* oh = out + b * T * C + h * dh;
  const float* doh = dout + b * T * C + h * dh;
  float* dqh = dqkv + b * T * ld3 + h * dh;

  // Pack Q and dO both ways, lse and D; zero the padding.
  const int Ti = static_cast<int>(T), Tpi = static_cast<int>(p.Tp);
  pack_transposed(p.qt, p.Tp, qh, ld3, Ti, Tpi, dh, D.scale);
  pack_transposed(p.dot, p.Tp, doh, C, Ti, Tpi, dh, 1.0f);
  std::fill(p.dqt, p.dqt + dh * p.Tp, 0.0f);
  for (ptrdiff_t t = 0; t < p.Tp; ++t) {
    float* qrow = p.qp + t * p.Dhp;
    float* dorow = p.dop + t * p.Dhp;
    if (t < T) {
      for (int d = 0; d < dh; ++d) {
        qrow[d] = qh[t * ld3 + d] * D.scale;
        dorow[d] = doh[t * C + d];
      }
      std::fill(qrow + dh, qrow + p.Dhp, 0.0f);
      std::fill(dorow + dh, dorow + p.Dhp, 0.0f);
      p.dsum[t] = row_dot(doh + t * C, oh + t * C, dh);
      p.lse[t] = lse[(b * D.H + h) * T + t];
    } else {
      std::fill(qrow, qrow + p.Dhp, 0.0f);
      std::fill(dorow, dorow + p.Dhp, 0.0f);
      p.dsum[t] = 0.0f;
      p.lse[t] = 0.0f;
    }
  }

  for (int kb = 0; kb < D.nblocks; ++kb) {
    const ptrdiff_t k0 = static_cast<ptrdiff_t>(kb) * kBlock;
    const int nk = static_cast<int>(std::min<ptrdiff_t>(kBlock, T - k0));
    const float* kblk = qh + k0 * ld3 + C;
    const float* vblk = qh + k0 * ld3 + 2 * C;
    std::fill(p.dk, p.dk + dtile, 0.0f);
    std::fill(p.dv, p.dv + dtile, 0.0f);
    for (int qb = kb; qb < D.nblocks; ++qb) {
      const ptrdiff_t q0 = static_cast<ptrdiff_t>(qb) * kBlock;
      const int nq = static_cast<int>(std::min<ptrdiff_t>(kBlock, T - q0));
      backward_tile(p, kblk, vblk, ld3, nk, q0, nq, qb == kb, dh);
    }
    for (int j = 0; j < nk; ++j) {
      float* dkr = dqh + (k0 + j) * ld3 + C;
      float* dvr = dqh + (k0 + j) * ld3 + 2 * C;
      for (int d = 0; d < dh; ++d) {
        dkr[d] += p.dk[j * p.Dhp + d];
        dvr[d] += p.dv[j * p.Dhp + d];
      }
    }
  }
  transpose_scaled<true>(dqh, ld3, p.dqt, p.Tp, dh, Ti, D.scale, nullptr);  // dq += (dQ^T)^T/√Dh
}

}  // namespace

void attention_forward(const float* qkv, float* out, float* lse, int64_t b, int64_t t, int64_t h, int64_t dh) {
  if (b <= 0 || t <= 0 || h <= 0 || dh <= 0) return;
  const Dims D = make_dims(b, t, h, dh);
  const ptrdiff_t heads = D.B * D.H;
  // Task i: head i / nblocks, query block nblocks−1 − i % nblocks. Within a
  // head the longest (latest) blocks go first, so the pool's dynamic hand-out
  // ends on short tasks, and consecutive tasks share the head's K and V in cache.
  parallel_tasks(heads * D.nblocks, [&](int64_t task) {
    const ptrdiff_t bh = task / D.nblocks;
    const int qb = D.nblocks - 1 - static_cast<int>(task % D.nblocks);
    forward_block(qkv, out, lse, D, bh / D.H, bh % D.H, qb);
  });
}

void attention_backward(const float* qkv, const float* out, const float* lse, const float* dout, float* dqkv, int64_t b,
                        int64_t t, int64_t h, int64_t dh) {
  if (b <= 0 || t <= 0 || h <= 0 || dh <= 0) return;
  const Dims D = make_dims(b, t, h, dh);
  parallel_tasks(D.B * D.H, [&](int64_t bh) { backward_head(qkv, out, lse, dout, dqkv, D, bh / D.H, bh % D.H); });
}

}  // namespace HSM_ISA
}  // namespace hsm
