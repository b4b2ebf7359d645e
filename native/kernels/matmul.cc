// Single-precision GEMM: C[b] (+)= op(A[b]) · op(B[b]), row-major, batched.
//
// Why hand-written: the addon is built by node-gyp with no system libraries,
// so there is no BLAS to call. This file is a compact BLIS-style GEMM.
//
// Blocking scheme (per thread, over its piece of C):
//
//   for jc in N step NC            B block  KC×NC  packed into NR-wide panels
//     for pc in K step KC          (lives in L2 while A blocks stream past)
//       pack op(B)[pc:pc+KC, jc:jc+NC]  -> Bp  [NC/NR][KC][NR]
//       for ic in M step MC
//         pack op(A)[ic:ic+MC, pc:pc+KC] -> Ap  [MC/MR][KC][MR]
//         for jr in NC step NR      one B micro-panel (KC×NR) stays in L1
//           for ir in MC step MR    A micro-panels stream from L2
//             micro_kernel: C[MR×NR] (+)= Ap panel · Bp panel
//
// Packing absorbs both transposes, so one micro-kernel serves all four
// layouts; ragged edges are zero-padded in the packed panels and written back
// with masked (AVX-512) or scratch-tile (AVX2 / generic) stores.
//
// Micro-kernels (register tile MR×NR, accumulators kept in registers):
//   AVX-512  12×32: 24 zmm accumulators, 2 B vectors, A broadcast per row
//   AVX2      6×16: 12 ymm accumulators, 2 B vectors, A broadcast per row
//   generic   6×8 : plain loops the compiler vectorizes with SSE2
//
// Threads: the batch × (M or N split) pieces are spread over hsm's pool;
// every thread has its own packing buffers (thread_local, 64-byte aligned,
// grown on demand and reused across calls). Tiny products take a direct
// loop with no packing and no thread wake-up.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#if defined(__SSE2__) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels.h"

namespace hsm {
namespace HSM_ISA {
namespace {

#if defined(__AVX512F__)
constexpr int MR = 12;
constexpr int NR = 32;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int MR = 6;
constexpr int NR = 16;
#else
constexpr int MR = 6;
constexpr int NR = 8;
#endif

// Cache blocking. KC: depth of one packed panel pair (B micro-panel KC×NR
// must sit in L1). MC×KC: the packed A block (L2). KC×NC: the packed B block.
constexpr int64_t KC_MAX = 256;
constexpr int64_t MC_MAX = 8 * MR;
constexpr int64_t NC_MAX = 1024;

// Products below this many multiply-adds go through the direct loop.
constexpr int64_t DIRECT_MACS = 32 * 1024;
// Products below this many multiply-adds never wake the thread pool.
constexpr int64_t PARALLEL_MACS = 512 * 1024;
// Batched items below this size are never split across threads.
constexpr int64_t PER_ITEM_MACS = 8 * 1024 * 1024;

// op(X) of one batch item as a view: element (r, c) of the logical matrix is
// p[r * rs + c * cs]. For a row-major R×C matrix rs = C, cs = 1; for a
// transposed one rs = 1, cs = R.
struct View {
  const float* p;
  int64_t rs, cs;
  const float* at(int64_t r, int64_t c) const { return p + r * rs + c * cs; }
};

// ---------------------------------------------------------------------------
// Packing. Both packed operands use the same layout: panels of width W
// (W = MR for A, NR for B), each panel stored k-major: dst[k * W + lane].
// A source either has the panel's lanes contiguous for each k ("direct") or
// has each lane's k-run contiguous ("transposed", needs a transpose).

// Source with the lanes contiguous for each k (row k at src + k*ld): fills
// every W-wide panel of a `width`-lane block, zero-padding the last one.
// Walks the source row by row so it is read sequentially.
template <int W>
void pack_direct(const float* src, int64_t ld, int64_t width, int64_t kc, float* dst) {
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

// dst[k*W + l] = src[l*ld + k] for l < lanes, 0 for lanes <= l < W.
// Full groups of four lanes are moved with 4×4 SSE transposes.
template <int W>
void pack_transposed(const float* src, int64_t ld, int lanes, int64_t kc, float* dst) {
  int l = 0;
#if defined(__SSE2__)
  const int64_t kc4 = kc & ~int64_t(3);
  for (; l + 4 <= lanes; l += 4) {
    const float* s0 = src + (l + 0) * ld;
    const float* s1 = src + (l + 1) * ld;
    const float* s2 = src + (l + 2) * ld;
    const float* s3 = src + (l + 3) * ld;
    float* d = dst + l;
    int64_t k = 0;
    for (; k < kc4; k += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + k), r1 = _mm_loadu_ps(s1 + k);
      __m128 r2 = _mm_loadu_ps(s2 + k), r3 = _mm_loadu_ps(s3 + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(d + (k + 0) * W, r0);
      _mm_storeu_ps(d + (k + 1) * W, r1);
      _mm_storeu_ps(d + (k + 2) * W, r2);
      _mm_storeu_ps(d + (k + 3) * W, r3);
    }
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

// Source with each lane's k-run contiguous (lane l at src + l*ld): one
// transposing pass per W-wide panel.
template <int W>
void pack_transposed_panels(const float* src, int64_t ld, int64_t width, int64_t kc, float* dst) {
  for (int64_t j = 0; j < width; j += W, dst += W * kc)
    pack_transposed<W>(src + j * ld, ld, static_cast<int>(std::min<int64_t>(W, width - j)), kc, dst);
}

// Packs rows [i0, i0+mc) × depth [k0, k0+kc) of op(A) into MR-wide panels.
void pack_a(const View& a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  const float* src = a.at(i0, k0);
  if (a.cs == 1) pack_transposed_panels<MR>(src, a.rs, mc, kc, dst);
  else pack_direct<MR>(src, a.cs, mc, kc, dst);
}

// Packs depth [k0, k0+kc) × columns [j0, j0+nc) of op(B) into NR-wide panels.
void pack_b(const View& b, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  const float* src = b.at(k0, j0);
  if (b.cs == 1) pack_direct<NR>(src, b.rs, nc, kc, dst);
  else pack_transposed_panels<NR>(src, b.cs, nc, kc, dst);
}

// ---------------------------------------------------------------------------
// Micro-kernels: C[mr×nr] (+)= a[kc×MR]ᵀ-panel · b[kc×NR]-panel, where only
// the top-left mr×nr (mr <= MR, nr <= NR) of the register tile is written.
// add = false stores, add = true accumulates into C.

#if defined(__AVX512F__)

void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                  int mr, int nr, bool add) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    // The C tile is only touched after the k loop: fetch it meanwhile.
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }

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
  const __mmask16 m1 = nr >= 32 ? __mmask16(0xFFFF)
                       : nr > 16 ? __mmask16((1u << (nr - 16)) - 1)
                                 : __mmask16(0);
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

#else  // AVX2 or generic: full-tile compute, scratch tile for ragged edges.

// Writes the top-left mr×nr of a full MR×NR tile held in `tile`.
void write_back_partial(const float* tile, float* c, int64_t ldc, int mr, int nr, bool add) {
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) {
      float v = tile[i * NR + j];
      c[i * ldc + j] = add ? c[i * ldc + j] + v : v;
    }
}

#if defined(__AVX2__) && defined(__FMA__)

void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                  int mr, int nr, bool add) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }

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
  alignas(64) float tile[MR * NR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile + i * NR, acc[i][0]);
    _mm256_store_ps(tile + i * NR + 8, acc[i][1]);
  }
  write_back_partial(tile, c, ldc, mr, nr, add);
}

#else  // generic

void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                  int mr, int nr, bool add) {
  alignas(64) float tile[MR * NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < NR; ++j) tile[i * NR + j] += ai * b[j];
    }
  write_back_partial(tile, c, ldc, mr, nr, add);
}

#endif
#endif

// ---------------------------------------------------------------------------
// Per-thread packing buffers: 64-byte aligned, grown on demand, kept for the
// thread's lifetime so steady-state calls never allocate.

class PackBuffer {
 public:
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { release(); }

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
  thread_local Workspace ws;
  return ws;
}

int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// ---------------------------------------------------------------------------
// Blocked driver.
//
// One C matrix is cut into `slots` rectangular pieces (one per thread, tile
// aligned, see choose_split) and processed in rounds: a round is one
// (NC-wide slab, KC-deep block) pair, and the K blocks of a slab run in
// order so every C element is stored on the first block and accumulated on
// the rest. Within a round each piece is a queue of row-block tasks. A slot
// works through its own queue from the front, so in steady state each thread
// keeps its C rows and its packed B block in its own L2 round after round,
// then steals from the back of the others' queues, so a core slowed by other
// work costs little. Every thread packs the B block it computes with into
// its own buffer (no cross-core dependency or wait inside a round).

struct Problem {
  View a, b;
  float* c;
  int64_t m, k, n;
  bool accumulate;
};

// One task: C[i0:i0+mc, j0:j0+nc] (+)= op(A)[i0:i0+mc, pc:pc+kc] · Bp, where
// Bp holds op(B)[pc:pc+kc, j0:j0+nc] packed. Packs the A block first.
void compute_block(const Problem& p, const float* bp, int64_t pc, int64_t kc, int64_t i0,
                   int64_t mc, int64_t j0, int64_t nc, float* ap) {
  pack_a(p.a, i0, mc, pc, kc, ap);
  const bool add = p.accumulate || pc > 0;
  float* c = p.c + i0 * p.n + j0;
  for (int64_t ir = 0; ir < mc; ir += MR) {  // A micro-panel stays in L1 ...
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
    const float* apanel = ap + ir * kc;
    for (int64_t jr = 0; jr < nc; jr += NR) {  // ... while B panels stream from L2
      const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
      micro_kernel(kc, apanel, bp + jr * kc, c + ir * p.n + jr, p.n, mr, nr, add);
    }
  }
}

// Pieces: C cut into pm × pn rectangles on tile boundaries.
struct Split {
  int64_t pm = 1, pn = 1;
};

// Chooses pm × pn = pieces minimizing the largest piece's estimated cost:
// its padded multiply-adds plus its packing (one packed element costs about
// as much as 16 multiply-adds; A is repacked for every NC-wide slab).
Split choose_split(int64_t m, int64_t k, int64_t n, int64_t pieces) {
  const int64_t m_tiles = ceil_div(m, MR), n_tiles = ceil_div(n, NR);
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
  return best;
}

// [lo, hi) of part `idx` of `parts` equal parts of [0, size), cut on
// multiples of w.
void part_range(int64_t size, int64_t w, int64_t parts, int64_t idx, int64_t* lo, int64_t* hi) {
  const int64_t tiles = ceil_div(size, w);
  *lo = std::min(size, tiles * idx / parts * w);
  *hi = std::min(size, tiles * (idx + 1) / parts * w);
}

// A queue of task indices [front, back) that its owner pops from the front
// and other threads steal from the back; both ends live in one atomic word.
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
      const uint64_t next = front_end ? (uint64_t(back) << 32) | (front + 1)
                                      : (uint64_t(back - 1) << 32) | front;
      if (word_.compare_exchange_weak(w, next, std::memory_order_relaxed)) {
        *task = front_end ? front : back - 1;
        return true;
      }
    }
  }
  std::atomic<uint64_t> word_{0};
};

// Per-thread record of which B block its buffer holds, so consecutive tasks
// of one piece pack it once per round. Rounds get process-wide unique ids.
std::atomic<uint64_t> g_round_id{0};

struct PackedB {
  uint64_t round = 0;
  int64_t piece = -1;
};

PackedB& packed_b_tag() {
  thread_local PackedB tag;
  return tag;
}

void gemm(const Problem& p, int64_t threads) {
  // Pieces, and how K and N are blocked: K in equal blocks of <= KC_MAX (no
  // thin tail block), each piece's columns in NC_MAX-wide slabs.
  const Split split = choose_split(p.m, p.k, p.n, threads);
  const int64_t slots = split.pm * split.pn;
  const int64_t kc_step = ceil_div(p.k, ceil_div(p.k, KC_MAX));
  const int64_t piece_cols = ceil_div(ceil_div(p.n, NR), split.pn) * NR;
  const int64_t nc_step = std::min(NC_MAX, piece_cols);
  const int64_t slabs = ceil_div(piece_cols, nc_step);
  // Row blocks: at most MC_MAX rows, about 8 per piece so stealing has slack.
  const int64_t piece_tiles = ceil_div(ceil_div(p.m, MR), split.pm);
  const int64_t mc_step = std::min(MC_MAX / MR, std::max<int64_t>(1, piece_tiles / 8)) * MR;

  struct Piece {
    int64_t m0, m1, n0, n1;
  };
  auto piece_bounds = [&](int64_t q) {
    Piece b;
    part_range(p.m, MR, split.pm, q / split.pn, &b.m0, &b.m1);
    part_range(p.n, NR, split.pn, q % split.pn, &b.n0, &b.n1);
    return b;
  };

  thread_local std::vector<TaskQueue> queues_storage;
  if (static_cast<int64_t>(queues_storage.size()) < slots)
    queues_storage = std::vector<TaskQueue>(static_cast<size_t>(slots));
  TaskQueue* queues = queues_storage.data();

  for (int64_t slab = 0; slab < slabs; ++slab) {
    for (int64_t pc = 0; pc < p.k; pc += kc_step) {
      const int64_t kc = std::min(kc_step, p.k - pc);
      const uint64_t round = g_round_id.fetch_add(1, std::memory_order_relaxed) + 1;
      for (int64_t q = 0; q < slots; ++q) {
        const Piece b = piece_bounds(q);
        const bool has_slab = b.m0 < b.m1 && b.n0 + slab * nc_step < b.n1;
        queues[q].reset(has_slab ? uint32_t(ceil_div(b.m1 - b.m0, mc_step)) : 0u);
      }
      // Task `t` of piece `q`: one row block against the slab's columns.
      auto run_task = [&](int64_t q, int64_t t) {
        const Piece b = piece_bounds(q);
        const int64_t j0 = b.n0 + slab * nc_step, nc = std::min(nc_step, b.n1 - j0);
        Workspace& ws = workspace();
        float* bp = ws.b.get(static_cast<size_t>(kc_step * nc_step));
        PackedB& tag = packed_b_tag();
        if (tag.round != round || tag.piece != q) {
          pack_b(p.b, pc, kc, j0, nc, bp);
          tag.round = round;
          tag.piece = q;
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
      if (slots == 1) run_slot(0);
      else hsm::parallel_tasks(slots, run_slot);
    }
  }
}

// ---------------------------------------------------------------------------
// Direct path for tiny products: no packing, no threads.

void gemm_direct(const Problem& p) {
  const View& a = p.a;
  const View& b = p.b;
  for (int64_t i = 0; i < p.m; ++i) {
    float* ci = p.c + i * p.n;
    if (!p.accumulate) std::fill(ci, ci + p.n, 0.0f);
    if (b.cs == 1) {  // rows of op(B) contiguous: axpy over each row
      for (int64_t q = 0; q < p.k; ++q) {
        const float aiq = *a.at(i, q);
        const float* bq = b.at(q, 0);
        for (int64_t j = 0; j < p.n; ++j) ci[j] += aiq * bq[j];
      }
    } else {  // columns of op(B) contiguous: dot products
      for (int64_t j = 0; j < p.n; ++j) {
        const float* bj = b.at(0, j);
        float s = 0.0f;
        for (int64_t q = 0; q < p.k; ++q) s += *a.at(i, q) * bj[q];
        ci[j] += s;
      }
    }
  }
}

}  // namespace

void matmul(const MatmulArgs& args) {
  const int64_t m = args.m, k = args.k, n = args.n, batch = args.batch;
  if (m <= 0 || n <= 0 || batch <= 0) return;

  if (k <= 0) {  // empty sum: C = 0, or unchanged when accumulating
    if (args.accumulate) return;
    for (int64_t bi = 0; bi < batch; ++bi)
      std::fill(args.c + bi * args.stride_c, args.c + bi * args.stride_c + m * n, 0.0f);
    return;
  }

  auto problem = [&](int64_t bi) {
    const float* a = args.a + bi * args.stride_a;
    const float* b = args.b + bi * args.stride_b;
    return Problem{args.trans_a ? View{a, 1, m} : View{a, k, 1},
                   args.trans_b ? View{b, 1, k} : View{b, n, 1},
                   args.c + bi * args.stride_c,
                   m, k, n, args.accumulate};
  };

  const int64_t macs = m * n * k;
  if (macs <= DIRECT_MACS) {
    for (int64_t bi = 0; bi < batch; ++bi) gemm_direct(problem(bi));
    return;
  }

  const int64_t threads = macs * batch >= PARALLEL_MACS ? hsm::num_threads() : 1;
  // Many independent items: one whole matrix per task. Otherwise (few items,
  // or stride_c == 0 where all items update the same C in order) the threads
  // share each matrix.
  const bool per_item = threads > 1 && args.stride_c != 0 && batch >= 2 * threads &&
                        (batch % threads == 0 || macs < PER_ITEM_MACS);
  if (per_item) {
    hsm::parallel_tasks(batch, [&](int64_t bi) { gemm(problem(bi), 1); });
    return;
  }
  for (int64_t bi = 0; bi < batch; ++bi) gemm(problem(bi), threads);
}

}  // namespace HSM_ISA
}  // namespace hsm
