// Single-precision GEMM: C[b] (+)= op(A[b]) · op(B[b]), row-major, batched.
//
// Why hand-written: the addon is built by node-gyp with no system libraries,
// so there is no BLAS to call. This is a compact BLIS-style GEMM.
//
// Blocking scheme, for one thread's piece of C:
//
//   for jc in N step NC                      one "slab" of columns
//     for pc in K step KC                    one "round"
//       pack op(B)[pc:+KC, jc:+NC] -> Bp     KC×NC, NR-wide panels (L2)
//       for ic in M step MC                  one task (row block)
//         pack op(A)[ic:+MC, pc:+KC] -> Ap   MC×KC, MR-wide panels
//         for ir in MC step MR               A micro-panel MR×KC stays in L1
//           for jr in NC step NR             B micro-panels stream from L2
//             micro_kernel: C[MR×NR] (+)= Ap panel · Bp panel
//
// Against a B packed whole beforehand (an inference weight: pack_whole_b),
// the two inner loops swap: each B panel comes from memory once, serves all
// the row panels (a decode batch's few rows), and the next one is
// prefetched meanwhile.
//
// Packing absorbs both transposes, so one micro-kernel serves all four
// layouts; ragged edges are zero-padded in the packed panels and written back
// with masked stores (AVX-512) or through a scratch tile (AVX2, wasm, generic).
//
// Micro-kernels (MR×NR register tile, accumulators stay in registers):
//   AVX-512  12×32: 24 zmm accumulators, 2 B vectors, A broadcast per row
//   AVX2      6×16: 12 ymm accumulators, 2 B vectors, A broadcast per row
//   wasm      4×8 : 8 v128 accumulators, 2 B vectors, A broadcast per row
//   generic   6×8 : plain loops the compiler vectorizes (SSE2 on x86-64)
//
// Threads (hsm's pool): see "Blocked driver" below. In short, C is cut into
// one piece per thread, each round is one pool call, and within a round the
// threads first work through their own row blocks, then steal. Batched
// products with many items run one whole item per task instead.
//
// Skinny products (C with <= SKINNY_M rows or <= SKINNY_N columns) would
// waste most of each register tile and are bound by streaming op(B), so they
// skip packing (and use both threads once op(B) outgrows L2) and run plain
// vectorized loops (in the wasm build, loops over SIMD128 register tiles:
// the plain loops load and store their partial sums at every k step).
//
// Buffers: each thread packs into its own thread_local buffers (64-byte
// aligned, grown on demand, kept for the thread's lifetime), so steady-state
// calls allocate nothing.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#if defined(__SSE2__) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "gelu.h"
#include "kernels.h"

#if defined(__GNUC__)
#define HSM_INLINE inline __attribute__((always_inline))
#else
#define HSM_INLINE inline
#endif

namespace hsm {
namespace HSM_ISA {
namespace {

#if defined(__AVX512F__)
constexpr int MR = 12;
constexpr int NR = 32;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int MR = 6;
constexpr int NR = 16;
#elif defined(__wasm_simd128__)
constexpr int MR = 4;
constexpr int NR = 8;
#else
constexpr int MR = 6;
constexpr int NR = 8;
#endif

// Cache blocking. An A micro-panel (MR×KC, 12 KiB for AVX-512) sits in L1
// while the round's B block (KC×NC, at most 1 MiB) streams from L2.
// MC_MAX only bounds a task's row block (and its A buffer). The wasm build
// measured the same, within noise, for KC 128-512 and NC 256-1024.
constexpr int64_t KC_MAX = 256;
constexpr int64_t MC_MAX = 8 * MR;
constexpr int64_t NC_MAX = 1024;

// C with at most this many rows (columns) takes the skinny path.
constexpr int64_t SKINNY_M = 3;
constexpr int64_t SKINNY_N = 4;
// ... and, when op(B) is not transposed, with at most this many rows: the
// wasm build's skinny_axpy (register tiles) stays ahead of packing B for the
// GEMM up to 12-16 rows, where packing's copy is not yet paid back.
#if defined(__wasm_simd128__)
constexpr int64_t SKINNY_M_AXPY = 12;
#else
constexpr int64_t SKINNY_M_AXPY = SKINNY_M;
#endif
// Natively, skinny_dot runs register tiles of dot products (below). They
// beat the packed GEMM only up to SKINNY_M rows: from 4 rows on, the GEMM's
// packing of B pays for itself, even when B is gpt2's 25 MB output table
// (`hsm bench decode --vocab-size 50257` times decode batches of 1 and 16).
#if !defined(__wasm_simd128__) && (defined(__AVX2__) || defined(__SSE2__))
#define HSM_DOT_TILES 1
#else
#define HSM_DOT_TILES 0
#endif
// Products below this many multiply-adds never wake the thread pool: a
// decode step's (16 rows × d=128 × 4d, about 1M) are so short that waking
// and joining the worker costs more than the second core gains (batched
// decode is faster on one thread; `hsm bench decode` times it).
constexpr int64_t PARALLEL_MACS = 4 * 1024 * 1024;
// ... except products of a few rows against a B of at least this many
// floats (1 MiB, more than a core's L2): they are bound by streaming B from
// memory, and two cores stream it faster than one.
constexpr int64_t PARALLEL_STREAM_B = 256 * 1024;
// Batch items below this size are never split across threads.
constexpr int64_t PER_ITEM_MACS = 8 * 1024 * 1024;

int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// A logical matrix over strided storage: element (r, c) is p[r*rs + c*cs].
// Row-major R×C storage read as is: rs = C, cs = 1; read transposed: rs = 1,
// cs = (its row length). One of rs, cs is always 1.
struct View {
  const float* p;
  int64_t rs, cs;
  const float* at(int64_t r, int64_t c) const { return p + r * rs + c * cs; }
  View transposed() const { return View{p, cs, rs}; }
};

// ---------------------------------------------------------------------------
// Packing. A packed operand is a run of W-wide panels (W = MR for A, NR for
// B), each holding kc steps of k. B panels and A panels from a transposed A
// are k-major: dst[k*W + lane]. A panels from a plain A are "chunked" (see
// pack_a_chunked) so that packing them needs no transpose.

// Source lanes contiguous for each k (row k at src + k*ld): fills every
// W-wide panel of a `width`-lane block, zero-padding the last panel. Walks
// the source row by row, so it is read sequentially.
template <int W>
void pack_kmajor(const float* src, int64_t ld, int64_t width, int64_t kc, float* dst) {
  const int64_t full = width / W * W;
  const int tail = static_cast<int>(width - full);
  for (int64_t k = 0; k < kc; ++k) {
    const float* s = src + k * ld;
    float* d = dst + k * W;
    for (int64_t j = 0; j < full; j += W, d += W * kc) std::memcpy(d, s + j, sizeof(float) * W);
    if (tail) {
      int l = 0;
      for (; l < tail; ++l) d[l] = s[full + l];
      for (; l < W; ++l) d[l] = 0.0f;
    }
  }
}

#if defined(__SSE2__) || defined(__wasm_simd128__)
// d[r*ld + l] = s_l[r] for r, l < 4: one 4×4 transpose in registers.
HSM_INLINE void transpose4x4(const float* s0, const float* s1, const float* s2, const float* s3, float* d, int64_t ld) {
#if defined(__SSE2__)
  __m128 r0 = _mm_loadu_ps(s0), r1 = _mm_loadu_ps(s1);
  __m128 r2 = _mm_loadu_ps(s2), r3 = _mm_loadu_ps(s3);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(d, r0);
  _mm_storeu_ps(d + ld, r1);
  _mm_storeu_ps(d + 2 * ld, r2);
  _mm_storeu_ps(d + 3 * ld, r3);
#else
  const v128_t r0 = wasm_v128_load(s0), r1 = wasm_v128_load(s1);
  const v128_t r2 = wasm_v128_load(s2), r3 = wasm_v128_load(s3);
  const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
  const v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  wasm_v128_store(d, wasm_i64x2_shuffle(t0, t1, 0, 2));
  wasm_v128_store(d + ld, wasm_i64x2_shuffle(t0, t1, 1, 3));
  wasm_v128_store(d + 2 * ld, wasm_i64x2_shuffle(t2, t3, 0, 2));
  wasm_v128_store(d + 3 * ld, wasm_i64x2_shuffle(t2, t3, 1, 3));
#endif
}
#endif

// Source lanes each contiguous in k (lane l at src + l*ld), one W-wide panel:
// dst[k*W + l] = src[l*ld + k] for l < lanes, 0 beyond. Groups of four lanes
// go through 4×4 transposes (SSE, SIMD128).
template <int W>
void pack_transposed_panel(const float* src, int64_t ld, int lanes, int64_t kc, float* dst) {
  int l = 0;
#if defined(__SSE2__) || defined(__wasm_simd128__)
  const int64_t kc4 = kc & ~int64_t(3);
  for (; l + 4 <= lanes; l += 4) {
    const float* s0 = src + (l + 0) * ld;
    const float* s1 = src + (l + 1) * ld;
    const float* s2 = src + (l + 2) * ld;
    const float* s3 = src + (l + 3) * ld;
    float* d = dst + l;
    int64_t k = 0;
    for (; k < kc4; k += 4) transpose4x4(s0 + k, s1 + k, s2 + k, s3 + k, d + k * W, W);
    for (; k < kc; ++k) {
      d[k * W + 0] = s0[k];
      d[k * W + 1] = s1[k];
      d[k * W + 2] = s2[k];
      d[k * W + 3] = s3[k];
    }
  }
#endif
  for (; l < lanes; ++l)
    for (int64_t k = 0; k < kc; ++k) dst[k * W + l] = src[l * ld + k];
  for (; l < W; ++l)
    for (int64_t k = 0; k < kc; ++k) dst[k * W + l] = 0.0f;
}

// Chunked A panel, for op(A) rows contiguous in k: k runs in chunks of AG,
// chunk q holding [lane][AG] at dst + q*MR*AG; a final partial chunk of
// r = kc % AG steps holds [lane][r]. Packing is plain AG-float copies and
// the micro-kernel reads lane i of step kk in a chunk at a[i*AG + kk].
constexpr int AG = 4;
// The wasm build packs A k-major instead, through 4×4 transposes: its
// micro-kernel loop, one k step per iteration, runs slightly faster so.
#if defined(__wasm_simd128__)
constexpr bool CHUNKED_A = false;
#else
constexpr bool CHUNKED_A = true;
#endif

void pack_a_chunked(const float* src, int64_t ld, int lanes, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + AG <= kc; k += AG, dst += MR * AG) {
    int l = 0;
    for (; l < lanes; ++l) std::memcpy(dst + l * AG, src + l * ld + k, sizeof(float) * AG);
    for (; l < MR; ++l) std::memset(dst + l * AG, 0, sizeof(float) * AG);
  }
  const int r = static_cast<int>(kc - k);
  for (int l = 0; l < MR; ++l)
    for (int kk = 0; kk < r; ++kk) dst[l * r + kk] = l < lanes ? src[l * ld + k + kk] : 0.0f;
}

// op(A)[i0:i0+mc, k0:k0+kc] -> MR-wide panels, MR*kc floats each: chunked
// when A's rows are contiguous (not transposed) and CHUNKED_A, else k-major.
void pack_a(const View& a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  const float* src = a.at(i0, k0);
  if (a.cs == 1 && !CHUNKED_A) {
    for (int64_t i = 0; i < mc; i += MR, dst += MR * kc)
      pack_transposed_panel<MR>(src + i * a.rs, a.rs, static_cast<int>(std::min<int64_t>(MR, mc - i)), kc, dst);
  } else if (a.cs == 1) {
    for (int64_t i = 0; i < mc; i += MR, dst += MR * kc)
      pack_a_chunked(src + i * a.rs, a.rs, static_cast<int>(std::min<int64_t>(MR, mc - i)), kc, dst);
  } else {
    pack_kmajor<MR>(src, a.cs, mc, kc, dst);
  }
}

// op(B)[k0:k0+kc, j0:j0+nc] -> NR-wide k-major panels, NR*kc floats each.
void pack_b(const View& b, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  const float* src = b.at(k0, j0);
  if (b.cs == 1) {
    pack_kmajor<NR>(src, b.rs, nc, kc, dst);
  } else {
    for (int64_t j = 0; j < nc; j += NR, dst += NR * kc)
      pack_transposed_panel<NR>(src + j * b.cs, b.cs, static_cast<int>(std::min<int64_t>(NR, nc - j)), kc, dst);
  }
}

// ---------------------------------------------------------------------------
// Micro-kernels: C[mr×nr] (+)= A panel (MR×kc) · B panel (kc×NR), of which
// only the top-left mr×nr (mr <= MR, nr <= NR) is written: stored when
// add = false, accumulated when add = true. The B panel is k-major, read with
// unaligned loads (a prepacked weight lives in a JS array; on aligned data
// they cost the same); the A panel is k-major (G = 1) or chunked (G = AG).
//
// Per ISA: Acc is the register tile, rank1() one k step of it,
// acc[i][:] += a[i*as] · b[0:NR] with A lane stride `as`.

#if defined(__AVX512F__)

using Acc = __m512[MR][2];

HSM_INLINE void rank1(Acc& acc, const float* a, int64_t as, const float* b) {
  const __m512 b0 = _mm512_loadu_ps(b);
  const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    const __m512 ai = _mm512_set1_ps(a[i * as]);
    acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
    acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
  }
}

// Accumulators start at zero, or at the bias row (NR readable floats) when
// this tile's first K block carries the linear layer's bias.
HSM_INLINE void init_and_prefetch(Acc& acc, const float* c, int64_t ldc, const float* bias) {
  const __m512 b0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  const __m512 b1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = b0;
    acc[i][1] = b1;
    // C is only touched after the k loop: fetch its rows meanwhile.
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
}

HSM_INLINE void write_back(Acc& acc, float* c, int64_t ldc, int mr, int nr, bool add) {
  if (mr == MR && nr == NR) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      if (add) {
        acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
        acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
      }
      _mm512_storeu_ps(ci, acc[i][0]);
      _mm512_storeu_ps(ci + 16, acc[i][1]);
    }
    return;
  }
  // Ragged tile: lane masks for the two 16-wide halves of each row.
  const __mmask16 m0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? __mmask16(0xFFFF) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    float* ci = c + i * ldc;
    if (add) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(m0, ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(m1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, m0, acc[i][0]);
    _mm512_mask_storeu_ps(ci + 16, m1, acc[i][1]);
  }
}

#elif defined(__AVX2__) && defined(__FMA__)

using Acc = __m256[MR][2];

HSM_INLINE void rank1(Acc& acc, const float* a, int64_t as, const float* b) {
  const __m256 b0 = _mm256_loadu_ps(b);
  const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    const __m256 ai = _mm256_broadcast_ss(a + i * as);
    acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
    acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
  }
}

HSM_INLINE void init_and_prefetch(Acc& acc, const float* c, int64_t ldc, const float* bias) {
  const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
  const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = b0;
    acc[i][1] = b1;
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
}

HSM_INLINE void write_back(Acc& acc, float* c, int64_t ldc, int mr, int nr, bool add) {
  if (mr == MR && nr == NR) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      if (add) {
        acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
        acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
      }
      _mm256_storeu_ps(ci, acc[i][0]);
      _mm256_storeu_ps(ci + 8, acc[i][1]);
    }
    return;
  }
  // Ragged tile: spill to a scratch tile, copy out the valid part.
  alignas(32) float tile[MR][NR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = add ? c[i * ldc + j] + tile[i][j] : tile[i][j];
}

#elif defined(__wasm_simd128__)

// SIMD128 as V8 compiles it for x86-64: no FMA (a mul and an add per four
// lanes; relaxed-simd's madd is behind a flag) and about 15 xmm registers.
// 4×8 keeps 8 accumulators, 2 B vectors, the broadcast and a product in
// registers. Larger tiles (5×8, 6×8) and unrolling k spill and run slower;
// 2×16 and 3×8 are about as fast alone, and 2×16 pads an odd N (a 65-token
// vocabulary) further, which costs more in the whole GEMM than it gains.
constexpr int NV = NR / 4;  // v128 vectors per tile row
using Acc = v128_t[MR][NV];

HSM_INLINE void rank1(Acc& acc, const float* a, int64_t as, const float* b) {
  v128_t bv[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) bv[v] = wasm_v128_load(b + 4 * v);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const v128_t ai = wasm_v128_load32_splat(a + i * as);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = wasm_f32x4_add(acc[i][v], wasm_f32x4_mul(ai, bv[v]));
  }
}

HSM_INLINE void init_and_prefetch(Acc& acc, const float*, int64_t, const float* bias) {
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const v128_t bv = bias ? wasm_v128_load(bias + 4 * v) : wasm_f32x4_splat(0.0f);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) acc[i][v] = bv;
  }
}

HSM_INLINE void write_back(Acc& acc, float* c, int64_t ldc, int mr, int nr, bool add) {
  if (mr == MR && nr == NR) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        if (add) acc[i][v] = wasm_f32x4_add(acc[i][v], wasm_v128_load(ci + 4 * v));
        wasm_v128_store(ci + 4 * v, acc[i][v]);
      }
    }
    return;
  }
  // Ragged tile: spill to a scratch tile, copy out the valid part.
  alignas(16) float tile[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) wasm_v128_store(tile[i] + 4 * v, acc[i][v]);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = add ? c[i * ldc + j] + tile[i][j] : tile[i][j];
}

#else  // generic: the tile is a plain array the compiler vectorizes

using Acc = float[MR][NR];

HSM_INLINE void rank1(Acc& acc, const float* a, int64_t as, const float* b) {
  for (int i = 0; i < MR; ++i) {
    const float ai = a[i * as];
    for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
  }
}

HSM_INLINE void init_and_prefetch(Acc& acc, const float*, int64_t, const float* bias) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = bias ? bias[j] : 0.0f;
}

HSM_INLINE void write_back(Acc& acc, float* c, int64_t ldc, int mr, int nr, bool add) {
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = add ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

#endif

// Asks for the cache lines of one k step of a B panel (NR floats) ahead of
// use; nothing where the target has no prefetch instruction.
HSM_INLINE void prefetch_b_step(const float* b) {
#if defined(__AVX2__) || defined(__AVX512F__) || defined(__SSE2__)
  for (int j = 0; j < NR; j += 16) _mm_prefetch(reinterpret_cast<const char*>(b + j), _MM_HINT_T0);
#else
  (void)b;
#endif
}

// C tile (+)= A micro-panel · B micro-panel. With next_b, also prefetches the
// next B panel one k step per k step, so that a panel coming from memory (a
// weight packed whole, read once per product) arrives while this one is
// multiplied instead of stalling the next call.
template <int G, bool PREFETCH>
void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int mr, int nr, bool add,
                  const float* bias, const float* next_b) {
  Acc acc;
  init_and_prefetch(acc, c, ldc, bias);
  int64_t k = 0;
  for (; k + G <= kc; k += G, a += MR * G, b += NR * G) {
    // Not unrolled on purpose: unrolling makes GCC spill an accumulator
    // (and slows the wasm build even more).
#pragma GCC unroll 1
    for (int kk = 0; kk < G; ++kk) {
      if (PREFETCH) prefetch_b_step(next_b + (k + kk) * NR);
      rank1(acc, a + kk, G, b + kk * NR);
    }
  }
  const int64_t r = kc - k;  // partial chunk (G > 1 only), stored [lane][r]
  for (int64_t kk = 0; kk < r; ++kk) rank1(acc, a + kk, r, b + kk * NR);
  write_back(acc, c, ldc, mr, nr, add);
}

// ---------------------------------------------------------------------------
// Per-thread packing buffers.

class PackBuffer {
 public:
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { release(); }

  // At least `floats` floats, 64-byte aligned; contents are not preserved
  // when it grows.
  float* get(size_t floats) {
    if (floats > cap_) {
      release();
      p_ = static_cast<float*>(::operator new(floats * sizeof(float), std::align_val_t(64)));
      cap_ = floats;
    }
    return p_;
  }

 private:
  void release() {
    if (p_) ::operator delete(p_, std::align_val_t(64));
    p_ = nullptr;
    cap_ = 0;
  }
  float* p_ = nullptr;
  size_t cap_ = 0;
};

struct Workspace {
  PackBuffer a, b;
};

Workspace& workspace() {
  HSM_THREAD_LOCAL Workspace ws;
  return ws;
}

// ---------------------------------------------------------------------------
// Blocked driver.
//
// C is cut into `slots` rectangular pieces, one per thread, on tile
// boundaries (choose_split), and processed in rounds, one (slab, K block)
// pair each; a slab's K blocks run in order, so C is stored on the first and
// accumulated on the rest. A round is one pool call. Within it every piece
// is a queue of row-block tasks: a slot first takes its own queue from the
// front, so in steady state each thread keeps its C rows and its packed B
// block in its own L2 round after round, then steals from the back of the
// other queues, so a core that is busy with other work costs little. Each
// thread packs the B block it needs into its own buffer: no cross-core
// traffic for B and no waiting inside a round.

struct Problem {
  View a, b;
  float* c;  // m×n, row-major, contiguous
  int64_t m, k, n;
  bool accumulate;
  const float* bias;  // N, or nullptr; added on the first K block (never with accumulate)
  int epilogue;       // MatmulEpilogue, applied to each tile after its last K block
  float* aux;         // m×n like C, for the epilogue
  // Optional: op(B) already packed whole (pack_whole_b), read in place of
  // packing b's blocks: an inference weight is packed once, not per call.
  const float* packed_b = nullptr;
};

// The epilogue on C[i0:i0+mr, j0:j0+nr] (row length n; aux laid out alike),
// just written and still in L1.
//
// Natively, in explicit vectors: the loop over a tile row is too short, and c
// and aux may alias as far as the compiler knows, so the plain loop ran
// scalar (several times the cost of the tile's multiply-adds at K=128). A
// row's ragged end goes through the same vector code via a padded copy, so
// an element's result does not depend on where a tile or a thread's piece
// ends.
#if defined(__AVX512F__)
using EpiVec = __m512;
constexpr int64_t EPI_W = 16;
HSM_INLINE EpiVec epi_load(const float* p) { return _mm512_loadu_ps(p); }
HSM_INLINE void epi_store(float* p, EpiVec v) { _mm512_storeu_ps(p, v); }
#elif defined(__AVX2__) && defined(__FMA__)
using EpiVec = __m256;
constexpr int64_t EPI_W = 8;
HSM_INLINE EpiVec epi_load(const float* p) { return _mm256_loadu_ps(p); }
HSM_INLINE void epi_store(float* p, EpiVec v) { _mm256_storeu_ps(p, v); }
#else
using EpiVec = float;
constexpr int64_t EPI_W = 1;
HSM_INLINE EpiVec epi_load(const float* p) { return *p; }
HSM_INLINE void epi_store(float* p, EpiVec v) { *p = v; }
#endif

// The epilogue on EPI_W elements (c, aux: the row's slices). GCC 12 reports
// a false -Wmaybe-uninitialized inside the AVX-512 headers (the
// _mm512_undefined_ps of the clamps and rounding in fast_exp) here, as
// fast_math.h explains; silenced for this function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
void epilogue_vector(bool gelu, float* c, float* aux) {
  if (gelu)
    epi_store(aux, gelu_value(epi_load(c)));
  else
    epi_store(c, epi_load(c) * gelu_grad(epi_load(aux)));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// ... on w <= EPI_W elements.
HSM_INLINE void epilogue_step(bool gelu, float* c, float* aux, int64_t w) {
  if (w == EPI_W) {
    epilogue_vector(gelu, c, aux);
    return;
  }
  float cbuf[EPI_W] = {}, abuf[EPI_W] = {};
  std::memcpy(cbuf, c, sizeof(float) * w);
  std::memcpy(abuf, aux, sizeof(float) * w);
  epilogue_vector(gelu, cbuf, abuf);
  std::memcpy(gelu ? aux : c, gelu ? abuf : cbuf, sizeof(float) * w);
}

void apply_epilogue(int epilogue, float* c_all, float* aux_all, int64_t n, int64_t i0, int64_t j0, int64_t mr,
                    int64_t nr) {
  const bool gelu = epilogue == kEpilogueGelu;
  for (int64_t i = i0; i < i0 + mr; ++i) {
    float* c = c_all + i * n;
    float* aux = aux_all + i * n;
    for (int64_t j = j0; j < j0 + nr; j += EPI_W) epilogue_step(gelu, c + j, aux + j, std::min(EPI_W, j0 + nr - j));
  }
}

// One task: C[i0:i0+mc, j0:j0+nc] (+)= op(A)[i0:i0+mc, pc:pc+kc] · Bp, where
// Bp holds op(B)[pc:pc+kc, j0:j0+nc] packed. Packs its A block into ap.
void compute_block(const Problem& p, const float* bp, int64_t pc, int64_t kc, int64_t i0, int64_t mc, int64_t j0,
                   int64_t nc, float* ap) {
  pack_a(p.a, i0, mc, pc, kc, ap);
  const bool a_chunked = CHUNKED_A && p.a.cs == 1;  // the layout pack_a chose
  const bool add = p.accumulate || pc > 0;
  const float* bias = add ? nullptr : p.bias;
  const bool epilogue = p.epilogue != kEpilogueNone && pc + kc == p.k;
  float* c = p.c + i0 * p.n + j0;
  // C tile (ir, jr); with next_b, the micro-kernel also prefetches that B panel.
  auto tile = [&](int64_t ir, int64_t jr, const float* next_b) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    alignas(64) float bias_tail[NR];  // a ragged tile's bias, zero-padded to NR
    const float* btile = nullptr;
    if (bias && nr == NR) {
      btile = bias + j0 + jr;
    } else if (bias) {
      for (int j = 0; j < NR; ++j) bias_tail[j] = j < nr ? bias[j0 + jr + j] : 0.0f;
      btile = bias_tail;
    }
    const float *apanel = ap + ir * kc, *bpanel = bp + jr * kc;
    float* ctile = c + ir * p.n + jr;
    if (a_chunked)
      next_b ? micro_kernel<AG, true>(kc, apanel, bpanel, ctile, p.n, mr, nr, add, btile, next_b)
             : micro_kernel<AG, false>(kc, apanel, bpanel, ctile, p.n, mr, nr, add, btile, nullptr);
    else
      next_b ? micro_kernel<1, true>(kc, apanel, bpanel, ctile, p.n, mr, nr, add, btile, next_b)
             : micro_kernel<1, false>(kc, apanel, bpanel, ctile, p.n, mr, nr, add, btile, nullptr);
    if (epilogue) apply_epilogue(p.epilogue, p.c, p.aux, p.n, i0 + ir, j0 + jr, mr, nr);
  };
  if (p.packed_b) {
    // A weight packed whole comes from memory, not from a block this thread
    // just packed into its L2: take each B panel once, for every row panel,
    // and prefetch the next one meanwhile, so each byte of the weight is read
    // from memory once per product (wide served models, whose weights do not
    // fit in cache, gain most: `hsm bench decode --n-embd 768`).
    for (int64_t jr = 0; jr < nc; jr += NR)
      for (int64_t ir = 0; ir < mc; ir += MR) tile(ir, jr, ir == 0 && jr + NR < nc ? bp + (jr + NR) * kc : nullptr);
    return;
  }
  // B's block sits in L2 (packed by this thread): the A micro-panel stays in
  // L1 while B's panels stream past it.
  for (int64_t ir = 0; ir < mc; ir += MR)
    for (int64_t jr = 0; jr < nc; jr += NR) tile(ir, jr, nullptr);
}

// Pieces: C cut into pm × pn rectangles.
struct Split {
  int64_t pm = 1, pn = 1;
};

// Chooses pm × pn = pieces minimizing the largest piece's estimated cost:
// its padded multiply-adds plus its packing (one packed element costs about
// as much as 16 multiply-adds; A is repacked for every NC-wide slab). When C
// has too few tiles for that many pieces, tries fewer.
Split choose_split(int64_t m, int64_t k, int64_t n, int64_t pieces) {
  const int64_t m_tiles = ceil_div(m, MR), n_tiles = ceil_div(n, NR);
  for (; pieces > 1; --pieces) {
    Split best;
    double best_cost = -1.0;
    for (int64_t pm = 1; pm <= pieces; ++pm) {
      if (pieces % pm) continue;
      const int64_t pn = pieces / pm;
      if (pm > m_tiles || pn > n_tiles) continue;
      const int64_t rows = ceil_div(m_tiles, pm) * MR, cols = ceil_div(n_tiles, pn) * NR;
      const double pack = 16.0 * double(k) * double(rows * ceil_div(cols, NC_MAX) + cols);
      const double cost = double(rows) * double(cols) * double(k) + pack;
      if (best_cost < 0 || cost < best_cost) {
        best_cost = cost;
        best.pm = pm;
        best.pn = pn;
      }
    }
    if (best_cost >= 0) return best;
  }
  return Split{};
}

// [lo, hi) of part `idx` of `parts` near-equal parts of [0, size), cut on
// multiples of w.
void part_range(int64_t size, int64_t w, int64_t parts, int64_t idx, int64_t* lo, int64_t* hi) {
  const int64_t tiles = ceil_div(size, w);
  *lo = std::min(size, tiles * idx / parts * w);
  *hi = std::min(size, tiles * (idx + 1) / parts * w);
}

// Task indices [front, back): the owner pops the front, other threads steal
// the back. Both ends share one atomic word, so no task is taken twice.
class TaskQueue {
 public:
  void reset(uint32_t n) { word_.store(uint64_t(n) << 32, std::memory_order_relaxed); }
  bool pop_front(uint32_t* task) { return take(true, task); }
  bool steal_back(uint32_t* task) { return take(false, task); }

 private:
  bool take(bool front_end, uint32_t* task) {
    uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      const uint32_t front = uint32_t(w), back = uint32_t(w >> 32);
      if (front >= back) return false;
      const uint64_t next = front_end ? (uint64_t(back) << 32) | (front + 1) : (uint64_t(back - 1) << 32) | front;
      if (word_.compare_exchange_weak(w, next, std::memory_order_relaxed)) {
        *task = front_end ? front : back - 1;
        return true;
      }
    }
  }
  std::atomic<uint64_t> word_{0};
};

// Which B block a thread's buffer holds (rounds get process-wide unique
// ids), so a thread packs each piece's block at most once per round.
std::atomic<uint64_t> g_round_id{0};

struct PackedBTag {
  uint64_t round = 0;
  int64_t piece = -1;
};

PackedBTag& packed_b_tag() {
  HSM_THREAD_LOCAL PackedBTag tag;
  return tag;
}

// K in equal blocks of at most KC_MAX (no thin tail block).
int64_t kc_step_of(int64_t k) { return ceil_div(k, ceil_div(k, KC_MAX)); }

// Columns of a whole packed op(B): N rounded up to whole NR-wide panels.
int64_t padded_n(int64_t n) { return ceil_div(n, NR) * NR; }

// op(B) (K×N) packed whole, as gemm would pack it block by block: for each
// K block (kc_step_of rows, starting at pc), every NR-wide panel of all N
// columns, k-major, at dst + pc·padded_n(n) + j·kc for the panel of column j.
void pack_whole_b(const View& b, int64_t k, int64_t n, float* dst) {
  const int64_t step = kc_step_of(k);
  for (int64_t pc = 0; pc < k; pc += step) pack_b(b, pc, std::min(step, k - pc), 0, n, dst + pc * padded_n(n));
}

void gemm(const Problem& p, int64_t threads) {
  const Split split = choose_split(p.m, p.k, p.n, threads);
  const int64_t slots = split.pm * split.pn;
  // K in equal blocks of <= KC_MAX (no thin tail block); each piece's
  // columns in slabs of <= NC_MAX; each piece's rows in blocks of <= MC_MAX,
  // about 8 per piece so stealing has some slack.
  const int64_t kc_step = kc_step_of(p.k);
  const int64_t piece_cols = ceil_div(ceil_div(p.n, NR), split.pn) * NR;
  const int64_t nc_step = std::min(NC_MAX, piece_cols);
  const int64_t slabs = ceil_div(piece_cols, nc_step);
  const int64_t piece_tiles = ceil_div(ceil_div(p.m, MR), split.pm);
  // Against a B packed whole, a piece of at most MC_MAX rows (a decode
  // batch) is one task, so that each B panel is read from memory once per
  // round rather than once per row panel (compute_block).
  const bool one_row_block = p.packed_b && piece_tiles * MR <= MC_MAX;
  const int64_t mc_step =
      (one_row_block ? piece_tiles : std::min(MC_MAX / MR, std::max<int64_t>(1, piece_tiles / 8))) * MR;

  struct Piece {
    int64_t m0, m1, n0, n1;
  };
  auto piece_bounds = [&](int64_t q) {
    Piece b;
    part_range(p.m, MR, split.pm, q / split.pn, &b.m0, &b.m1);
    part_range(p.n, NR, split.pn, q % split.pn, &b.n0, &b.n1);
    return b;
  };

  HSM_THREAD_LOCAL std::vector<TaskQueue> queue_storage;
  if (static_cast<int64_t>(queue_storage.size()) < slots)
    queue_storage = std::vector<TaskQueue>(static_cast<size_t>(slots));
  TaskQueue* queues = queue_storage.data();

  for (int64_t slab = 0; slab < slabs; ++slab) {
    for (int64_t pc = 0; pc < p.k; pc += kc_step) {
      const int64_t kc = std::min(kc_step, p.k - pc);
      const uint64_t round = g_round_id.fetch_add(1, std::memory_order_relaxed) + 1;
      for (int64_t q = 0; q < slots; ++q) {
        const Piece b = piece_bounds(q);
        const bool has_slab = b.m0 < b.m1 && b.n0 + slab * nc_step < b.n1;
        queues[q].reset(has_slab ? uint32_t(ceil_div(b.m1 - b.m0, mc_step)) : 0u);
      }
      // Task t of piece q: row block t of the piece against the slab.
      auto run_task = [&](int64_t q, int64_t t) {
        const Piece b = piece_bounds(q);
        const int64_t j0 = b.n0 + slab * nc_step, nc = std::min(nc_step, b.n1 - j0);
        Workspace& ws = workspace();
        const float* bp;
        if (p.packed_b) {
          bp = p.packed_b + pc * padded_n(p.n) + j0 * kc;  // pack_whole_b's layout
        } else {
          float* own = ws.b.get(static_cast<size_t>(kc_step * nc_step));
          PackedBTag& tag = packed_b_tag();
          if (tag.round != round || tag.piece != q) {
            pack_b(p.b, pc, kc, j0, nc, own);
            tag.round = round;
            tag.piece = q;
          }
          bp = own;
        }
        const int64_t i0 = b.m0 + t * mc_step;
        float* ap = ws.a.get(static_cast<size_t>(kc_step * mc_step));
        compute_block(p, bp, pc, kc, i0, std::min(mc_step, b.m1 - i0), j0, nc, ap);
      };
      auto run_slot = [&](int64_t s) {
        uint32_t t;
        while (queues[s].pop_front(&t)) run_task(s, t);
        for (int64_t d = 1; d < slots; ++d) {
          const int64_t q = (s + d) % slots;
          while (queues[q].steal_back(&t)) run_task(q, t);
        }
      };
      // (A one-reference capture keeps std::function from allocating.)
      if (slots == 1)
        run_slot(0);
      else
        hsm::parallel_tasks(slots, [&run_slot](int64_t s) { run_slot(s); });
    }
  }
}

// ---------------------------------------------------------------------------
// Skinny path: C(i, j) at c[i*c_rs + j*c_cs], so that few columns can be
// handled as few rows of the transposed product Cᵀ = op(B)ᵀ·op(A)ᵀ.

struct Skinny {
  View a, b;  // op(A): m×k, op(B): k×n
  float* c;
  int64_t c_rs, c_cs;
  int64_t m, k, n;
  bool accumulate;
  void put(int64_t i, int64_t j, float v) const {
    float* x = c + i * c_rs + j * c_cs;
    *x = accumulate ? *x + v : v;
  }
};

#if defined(__wasm_simd128__)
// op(B) rows contiguous (b.cs == 1), wasm: C in register tiles of 4×8, 2×16
// or 1×32 (8 accumulators, like the micro-kernel) that walk down op(B), in
// k blocks of SKINNY_KB rows so that the hardware prefetcher follows few
// streams, the partial sums parked in L1 between blocks. The accumulator
// strips of the loop below (load, scale-add, store per k) pay a load and a
// store per k step in wasm; these tiles keep the sums in registers, which is
// what makes them faster than packing B for the GEMM at up to 12 rows.
constexpr int64_t SKINNY_KB = 16;
constexpr int64_t SKINNY_CW = 512;  // columns per pass (the partial sums' strip)

// C rows [i0, i0+ROWS) × columns [j, j+4*NV), steps [q0, q1) of k: the
// partial sums start at zero (q0 = 0) or come from part (row stride
// SKINNY_CW), and go back there, or to C after the last step.
template <int ROWS, int NV>
HSM_INLINE void skinny_tile(const Skinny& s, int64_t i0, int64_t j, int64_t q0, int64_t q1, float* part) {
  v128_t acc[ROWS][NV];
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v)
      acc[r][v] = q0 == 0 ? wasm_f32x4_splat(0.0f) : wasm_v128_load(part + r * SKINNY_CW + 4 * v);
  const float* b = s.b.at(q0, j);
  const float* a = s.a.at(i0, q0);
  for (int64_t q = q0; q < q1; ++q, b += s.b.rs, a += s.a.cs) {
    v128_t bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = wasm_v128_load(b + 4 * v);
    for (int r = 0; r < ROWS; ++r) {
      const v128_t ar = wasm_v128_load32_splat(a + r * s.a.rs);
      for (int v = 0; v < NV; ++v) acc[r][v] = wasm_f32x4_add(acc[r][v], wasm_f32x4_mul(ar, bv[v]));
    }
  }
  if (q1 < s.k) {
    for (int r = 0; r < ROWS; ++r)
      for (int v = 0; v < NV; ++v) wasm_v128_store(part + r * SKINNY_CW + 4 * v, acc[r][v]);
    return;
  }
  for (int r = 0; r < ROWS; ++r) {
    alignas(16) float out[4 * NV];
    for (int v = 0; v < NV; ++v) wasm_v128_store(out + 4 * v, acc[r][v]);
    for (int l = 0; l < 4 * NV; ++l) s.put(i0 + r, j + l, out[l]);
  }
}

// C rows [i0, i0+ROWS), columns [j0, j1); the last j1 - j0 mod 4 columns are
// plain dot products.
template <int ROWS>
void skinny_rows(const Skinny& s, int64_t i0, int64_t j0, int64_t j1) {
  constexpr int NV = 8 / ROWS;
  alignas(16) float part[ROWS * SKINNY_CW];
  const int64_t jv = j0 + (j1 - j0) / 4 * 4;  // columns past jv: scalar
  for (int64_t jc = j0; jc < jv; jc += SKINNY_CW) {
    const int64_t je = std::min(jv, jc + SKINNY_CW);
    for (int64_t q0 = 0; q0 < s.k; q0 += SKINNY_KB) {
      const int64_t q1 = std::min(s.k, q0 + SKINNY_KB);
      int64_t j = jc;
      for (; j + 4 * NV <= je; j += 4 * NV) skinny_tile<ROWS, NV>(s, i0, j, q0, q1, part + (j - jc));
      for (; j < je; j += 4) skinny_tile<ROWS, 1>(s, i0, j, q0, q1, part + (j - jc));
    }
  }
  for (int64_t j = jv; j < j1; ++j)
    for (int r = 0; r < ROWS; ++r) {
      float sum = 0.0f;
      for (int64_t q = 0; q < s.k; ++q) sum += *s.a.at(i0 + r, q) * *s.b.at(q, j);
      s.put(i0 + r, j, sum);
    }
}

void skinny_axpy(const Skinny& s, int64_t j0, int64_t j1) {
  int64_t i = 0;
  for (; i + 4 <= s.m; i += 4) skinny_rows<4>(s, i, j0, j1);
  for (; i + 2 <= s.m; i += 2) skinny_rows<2>(s, i, j0, j1);
  if (i < s.m) skinny_rows<1>(s, i, j0, j1);
}
#else
// op(B) rows contiguous (b.cs == 1). Up to SKINNY_ROWS rows of C at a time,
// over columns [j0, j1) in strips of SKINNY_STRIP: each op(B) row segment is
// loaded once and scaled into every row's accumulator strip (kept in L1).
constexpr int SKINNY_ROWS = 4;
constexpr int64_t SKINNY_STRIP = 512;

void skinny_axpy(const Skinny& s, int64_t j0, int64_t j1) {
  alignas(64) float acc[SKINNY_ROWS][SKINNY_STRIP];
  for (int64_t i0 = 0; i0 < s.m; i0 += SKINNY_ROWS) {
    const int rows = static_cast<int>(std::min<int64_t>(SKINNY_ROWS, s.m - i0));
    for (int64_t jb = j0; jb < j1; jb += SKINNY_STRIP) {
      const int64_t w = std::min(SKINNY_STRIP, j1 - jb);
      for (int r = 0; r < rows; ++r) std::fill(acc[r], acc[r] + w, 0.0f);
      for (int64_t q = 0; q < s.k; ++q) {
        const float* bq = s.b.at(q, jb);
        for (int r = 0; r < rows; ++r) {
          const float air = *s.a.at(i0 + r, q);
          float* ar = acc[r];
          for (int64_t j = 0; j < w; ++j) ar[j] += air * bq[j];
        }
      }
      for (int r = 0; r < rows; ++r)
        for (int64_t j = 0; j < w; ++j) s.put(i0 + r, jb + j, acc[r][j]);
    }
  }
}
#endif

#if !HSM_DOT_TILES
// Dot product over 32 independent partial sums (vectorizes without
// reassociation flags).
float dot(const float* x, const float* y, int64_t k) {
  float part[32] = {};
  int64_t q = 0;
  for (; q + 32 <= k; q += 32)
    for (int l = 0; l < 32; ++l) part[l] += x[q + l] * y[q + l];
  float sum = 0.0f;
  for (; q < k; ++q) sum += x[q] * y[q];
  for (int l = 0; l < 32; ++l) sum += part[l];
  return sum;
}
#endif

#if defined(__wasm_simd128__)
// x · y_l for the four vectors y_l = y + l*ld, as one vector (wasm): each
// load of x serves four products, and the four sums reduce together at the
// end. With dot() alone, reducing its 32 partial sums one by one cost more
// than the loop itself at k ~ 384 (the model widths decoding uses).
v128_t dot4(const float* x, const float* y, int64_t ld, int64_t k) {
  const float* y0 = y;
  const float* y1 = y + ld;
  const float* y2 = y + 2 * ld;
  const float* y3 = y + 3 * ld;
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
  v128_t t0 = s0, t1 = s0, t2 = s0, t3 = s0;
  int64_t q = 0;
  for (; q + 8 <= k; q += 8) {
    const v128_t xa = wasm_v128_load(x + q), xb = wasm_v128_load(x + q + 4);
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(xa, wasm_v128_load(y0 + q)));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(xa, wasm_v128_load(y1 + q)));
    s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(xa, wasm_v128_load(y2 + q)));
    s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(xa, wasm_v128_load(y3 + q)));
    t0 = wasm_f32x4_add(t0, wasm_f32x4_mul(xb, wasm_v128_load(y0 + q + 4)));
    t1 = wasm_f32x4_add(t1, wasm_f32x4_mul(xb, wasm_v128_load(y1 + q + 4)));
    t2 = wasm_f32x4_add(t2, wasm_f32x4_mul(xb, wasm_v128_load(y2 + q + 4)));
    t3 = wasm_f32x4_add(t3, wasm_f32x4_mul(xb, wasm_v128_load(y3 + q + 4)));
  }
  for (; q + 4 <= k; q += 4) {
    const v128_t xa = wasm_v128_load(x + q);
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(xa, wasm_v128_load(y0 + q)));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(xa, wasm_v128_load(y1 + q)));
    s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(xa, wasm_v128_load(y2 + q)));
    s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(xa, wasm_v128_load(y3 + q)));
  }
  s0 = wasm_f32x4_add(s0, t0);
  s1 = wasm_f32x4_add(s1, t1);
  s2 = wasm_f32x4_add(s2, t2);
  s3 = wasm_f32x4_add(s3, t3);
  // Transpose-and-add: lane l of the result sums the four lanes of s_l.
  const v128_t u0 = wasm_f32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
  const v128_t u1 = wasm_f32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
  v128_t sum = wasm_f32x4_add(wasm_i64x2_shuffle(u0, u1, 0, 2), wasm_i64x2_shuffle(u0, u1, 1, 3));
  if (q < k) {
    alignas(16) float tail[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (; q < k; ++q) {
      tail[0] += x[q] * y0[q];
      tail[1] += x[q] * y1[q];
      tail[2] += x[q] * y2[q];
      tail[3] += x[q] * y3[q];
    }
    sum = wasm_f32x4_add(sum, wasm_v128_load(tail));
  }
  return sum;
}
#endif

#if HSM_DOT_TILES
// Dot products in register tiles (native): R rows of op(A) against C columns
// of op(B), both contiguous over k, with one vector of partial sums per pair,
// so each load of a row of A serves C products and each pair is reduced once
// at the end. Every entry goes through the same operations whatever the tile
// (lane sums over k in vector steps, the lanes added in one order, then the
// tail), so C(i, j) is the same for 1, 2 or 3 rows. This is a decode step
// of one sequence, whose largest product is the output head against gpt2's
// 50,257-row table: a tile reads each row of the table once for all its rows
// of A (`hsm bench decode --vocab-size 50257` times it).
#if defined(__AVX2__) && defined(__FMA__)
using DotLanes = __m256;
constexpr int64_t DOT_W = 8;
HSM_INLINE DotLanes lanes_zero() { return _mm256_setzero_ps(); }
HSM_INLINE DotLanes lanes_fma(DotLanes x, const float* y, DotLanes acc) {
  return _mm256_fmadd_ps(x, _mm256_loadu_ps(y), acc);
}
HSM_INLINE DotLanes lanes_load(const float* x) { return _mm256_loadu_ps(x); }
HSM_INLINE float lanes_sum(DotLanes v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}
#else
using DotLanes = __m128;
constexpr int64_t DOT_W = 4;
HSM_INLINE DotLanes lanes_zero() { return _mm_setzero_ps(); }
HSM_INLINE DotLanes lanes_fma(DotLanes x, const float* y, DotLanes acc) {
  return _mm_add_ps(acc, _mm_mul_ps(x, _mm_loadu_ps(y)));
}
HSM_INLINE DotLanes lanes_load(const float* x) { return _mm_loadu_ps(x); }
HSM_INLINE float lanes_sum(DotLanes v) {
  const __m128 h = _mm_add_ps(v, _mm_movehl_ps(v, v));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
}
#endif
// Up to 3 × 4 tiles: 12 accumulators and the rows of A stay in registers (AVX2 has 16).
constexpr int DOT_TILE_C = 4;

template <int R, int C>
HSM_INLINE void dot_tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, const Skinny& s,
                         int64_t i0, int64_t j0) {
  DotLanes acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = lanes_zero();
  int64_t q = 0;
  for (; q + DOT_W <= k; q += DOT_W)
    for (int r = 0; r < R; ++r) {
      const DotLanes x = lanes_load(a + r * lda + q);
      for (int c = 0; c < C; ++c) acc[r][c] = lanes_fma(x, b + c * ldb + q, acc[r][c]);
    }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float v = lanes_sum(acc[r][c]);
      for (int64_t t = q; t < k; ++t) v += a[r * lda + t] * b[c * ldb + t];
      s.put(i0 + r, j0 + c, v);
    }
}
#endif

// op(B) columns contiguous (b.rs == 1): C(i, j) = op(A) row i · op(B)
// column j, columns [j0, j1). Strided op(A) rows are first copied to rows_buf.
void skinny_dot(const Skinny& s, int64_t j0, int64_t j1, float* rows_buf) {
  const float* a_rows = s.a.p;
  int64_t a_ld = s.a.rs;
  if (s.a.cs != 1) {
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t q = 0; q < s.k; ++q) rows_buf[i * s.k + q] = *s.a.at(i, q);
    a_rows = rows_buf;
    a_ld = s.k;
  }
  int64_t j = j0;
#if !HSM_DOT_TILES
#if defined(__wasm_simd128__)
  for (; j + 4 <= j1; j += 4) {
    const float* y = s.b.at(0, j);
    for (int64_t i = 0; i < s.m; ++i) {
      alignas(16) float d[4];
      wasm_v128_store(d, dot4(a_rows + i * a_ld, y, s.b.cs, s.k));
      for (int l = 0; l < 4; ++l) s.put(i, j + l, d[l]);
    }
  }
#endif
  for (; j < j1; ++j) {
    const float* bj = s.b.at(0, j);
    for (int64_t i = 0; i < s.m; ++i) s.put(i, j, dot(a_rows + i * a_ld, bj, s.k));
  }
#else
  const int64_t ldb = s.b.cs;
  for (; j + DOT_TILE_C <= j1; j += DOT_TILE_C) {
    const float* y = s.b.at(0, j);
    int64_t i = 0;
    for (; i + 3 <= s.m; i += 3) dot_tile<3, DOT_TILE_C>(a_rows + i * a_ld, a_ld, y, ldb, s.k, s, i, j);
    if (s.m - i == 2) dot_tile<2, DOT_TILE_C>(a_rows + i * a_ld, a_ld, y, ldb, s.k, s, i, j);
    if (s.m - i == 1) dot_tile<1, DOT_TILE_C>(a_rows + i * a_ld, a_ld, y, ldb, s.k, s, i, j);
  }
  for (; j < j1; ++j)
    for (int64_t i = 0; i < s.m; ++i) dot_tile<1, 1>(a_rows + i * a_ld, a_ld, s.b.at(0, j), ldb, s.k, s, i, j);
#endif
}

void gemm_skinny(const Skinny& s, int64_t threads) {
  auto run = [&](int64_t j0, int64_t j1) {
    if (s.b.cs == 1) {
      skinny_axpy(s, j0, j1);
    } else {
      float* buf = workspace().a.get(static_cast<size_t>(s.a.cs == 1 ? 1 : s.m * s.k));
      skinny_dot(s, j0, j1, buf);
    }
  };
  // Column chunks of at least 64, one per thread.
  const int64_t chunks = std::max<int64_t>(1, std::min(threads, s.n / 64));
  if (chunks == 1) {
    run(0, s.n);
    return;
  }
  auto chunk = [&](int64_t t) { run(s.n * t / chunks, s.n * (t + 1) / chunks); };
  hsm::parallel_tasks(chunks, [&chunk](int64_t t) { chunk(t); });
}

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

void run_matmul(const MatmulArgs& args) {
  const int64_t m = args.m, k = args.k, n = args.n, batch = args.batch;
  if (m <= 0 || n <= 0 || batch <= 0) return;

  if (k <= 0) {  // empty sum: C = bias or 0 (then the epilogue), or unchanged when accumulating
    if (args.accumulate) return;
    for (int64_t bi = 0; bi < batch; ++bi) {
      float* c = args.c + bi * args.stride_c;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) c[i * n + j] = args.bias ? args.bias[j] : 0.0f;
    }
    if (args.epilogue != kEpilogueNone) apply_epilogue(args.epilogue, args.c, args.aux, n, 0, 0, m, n);
    return;
  }

  auto problem = [&](int64_t bi) {
    const float* a = args.a + bi * args.stride_a;
    const float* b = args.b + bi * args.stride_b;
    return Problem{args.trans_a ? View{a, 1, m} : View{a, k, 1},
                   args.trans_b ? View{b, 1, k} : View{b, n, 1},
                   args.c + bi * args.stride_c,
                   m,
                   k,
                   n,
                   args.accumulate,
                   args.bias,
                   args.epilogue,
                   args.aux};
  };

  const int64_t macs = m * n * k;
  // Items run in order, so stride_c == 0 (every item updating one C) works.
  const bool few_rows = m <= SKINNY_M || (m <= SKINNY_M_AXPY && !args.trans_b);
  // A few rows against a large B are bound by streaming B from memory, which
  // two cores do faster than one, however few the multiply-adds.
  const bool streams_b = few_rows && k * n >= PARALLEL_STREAM_B;
  const int64_t threads = macs * batch >= PARALLEL_MACS || streams_b ? hsm::num_threads() : 1;

  if (few_rows || n <= SKINNY_N) {
    for (int64_t bi = 0; bi < batch; ++bi) {
      const Problem p = problem(bi);
      if (few_rows)
        gemm_skinny(Skinny{p.a, p.b, p.c, n, 1, m, k, n, p.accumulate}, threads);
      else  // few columns: Cᵀ = op(B)ᵀ · op(A)ᵀ has few rows
        gemm_skinny(Skinny{p.b.transposed(), p.a.transposed(), p.c, 1, n, n, k, m, p.accumulate}, threads);
      if (p.bias)  // skinny products are bound by streaming op(B); a second pass over C is cheap
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) p.c[i * n + j] += p.bias[j];
      if (p.epilogue != kEpilogueNone) apply_epilogue(p.epilogue, p.c, p.aux, n, 0, 0, m, n);
    }
    return;
  }

  // Many independent items: one whole matrix per task. Otherwise (few items,
  // or stride_c == 0) the threads share each matrix and items run in order.
  const bool per_item =
      threads > 1 && args.stride_c != 0 && batch >= 2 * threads && (batch % threads == 0 || macs < PER_ITEM_MACS);
  if (per_item) {
    hsm::parallel_tasks(batch, [&problem](int64_t bi) { gemm(problem(bi), 1); });
    return;
  }
  for (int64_t bi = 0; bi < batch; ++bi) gemm(problem(bi), threads);
}

}  // namespace

// A weight packed once for every later product against it (matmul_packed_b):
// op(B) (K×N; B stored N×K when trans_b) in pack_whole_b's layout, which
// takes at most k · (n rounded up to 64) floats on every ISA.
void pack_matmul_b(const float* b, float* packed, int64_t k, int64_t n, bool trans_b) {
  if (k <= 0 || n <= 0) return;
  pack_whole_b(trans_b ? View{b, 1, k} : View{b, n, 1}, k, n, packed);
}

// C (M×N) = A (M×K, row-major) · op(B) + bias (then the epilogue), op(B)
// from pack_matmul_b. Every row count takes the blocked GEMM, so a row's
// result does not depend on the others (a decode batch's sequences get the
// bits they would get alone), and B is never repacked.
void matmul_packed_b(const float* a, const float* packed, float* c, int64_t m, int64_t k, int64_t n,
                     Nullable<const float> bias, int64_t epilogue, Nullable<float> aux) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    run_matmul(
        MatmulArgs{a, packed, c, m, k, n, false, false, false, 1, 0, 0, 0, bias, static_cast<int>(epilogue), aux});
    return;
  }
  Problem p{View{a, k, 1}, View{nullptr, n, 1}, c, m, k, n, false, bias, static_cast<int>(epilogue), aux};
  p.packed_b = packed;
  gemm(p, m * n * k >= PARALLEL_MACS ? hsm::num_threads() : 1);
}

// The flat ABI entry (kernel_list.h takes no structs, so a wasm build can export it too).
void matmul(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, bool trans_a, bool trans_b,
            bool accumulate, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c,
            Nullable<const float> bias, int64_t epilogue, Nullable<float> aux) {
  run_matmul(MatmulArgs{a, b, c, m, k, n, trans_a, trans_b, accumulate, batch, stride_a, stride_b, stride_c, bias,
                        static_cast<int>(epilogue), aux});
}

}  // namespace HSM_ISA
}  // namespace hsm
