// Elementwise kernels: plain loops written so the compiler vectorizes them
// for each ISA build; large arrays are split across the thread pool.
#include <algorithm>

#include "fast_math.h"
#include "gelu.h"
#include "kernels.h"
#include "reduce.h"

namespace hsm {
namespace HSM_ISA {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per task below which threading does not pay

// Runs fn(begin, end) over [0, n) in parallel chunks of at least kGrain.
template <class F>
void for_range(int64_t n, F&& fn) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { fn(b, e); });
}

// dst[i] += Σ_o src[o·inner + i].
void column_sums(const float* src, float* dst, int64_t outer, int64_t inner) {
  if (outer == 1) {  // a same-shape operand: no partial rows to reduce
    parallel_for(inner, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] += src[i];
    });
    return;
  }
  rows_with_partials(outer, inner, {dst}, [&](int64_t o0, int64_t o1, float* acc) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* row = src + o * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] += row[i];
    }
  });
}

}  // namespace

void add_forward(const float* a, const float* b, float* out, int64_t outer, int64_t inner) {
  parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* ar = a + o * inner;
      float* orow = out + o * inner;
      for (int64_t i = 0; i < inner; ++i) orow[i] = ar[i] + b[i];
    }
  });
}

void add_backward(const float* dy, Nullable<float> da, Nullable<float> db, int64_t outer, int64_t inner) {
  if (da)
    for_range(outer * inner, [&](int64_t s, int64_t e) {
      for (int64_t k = s; k < e; ++k) da[k] += dy[k];
    });
  if (db) column_sums(dy, db, outer, inner);
}

void mul_forward(const float* a, const float* b, float* out, int64_t outer, int64_t inner) {
  parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* ar = a + o * inner;
      float* orow = out + o * inner;
      for (int64_t i = 0; i < inner; ++i) orow[i] = ar[i] * b[i];
    }
  });
}

void mul_backward(const float* a, const float* b, const float* dy, Nullable<float> da, Nullable<float> db,
                  int64_t outer, int64_t inner) {
  if (outer == 1) {
    // Same shapes (HSM's gates and scores): both gradients are elementwise.
    // The general path below would run da on one thread and reduce db
    // through per-task partial rows as long as the whole tensor.
    float* dap = da;
    float* dbp = db;
    for_range(inner, [&](int64_t s, int64_t e) {
      if (dap)
        for (int64_t i = s; i < e; ++i) dap[i] += dy[i] * b[i];
      if (dbp)
        for (int64_t i = s; i < e; ++i) dbp[i] += dy[i] * a[i];
    });
    return;
  }
  if (da)
    parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const float* g = dy + o * inner;
        float* d = da + o * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += g[i] * b[i];
      }
    });
  if (db) {
    rows_with_partials(outer, inner, {db}, [&](int64_t o0, int64_t o1, float* acc) {
      for (int64_t o = o0; o < o1; ++o) {
        const float* g = dy + o * inner;
        const float* ar = a + o * inner;
        for (int64_t i = 0; i < inner; ++i) acc[i] += g[i] * ar[i];
      }
    });
  }
}

void scale(const float* x, float alpha, float* out, int64_t n) {
  for_range(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) out[i] = alpha * x[i];
  });
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  for_range(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] += alpha * x[i];
  });
}

void gelu_forward(const float* x, float* y, int64_t n) {
  for_range(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] = gelu_value(x[i]);
  });
}

// Two loops rather than a select inside one, so each stays vectorized.
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n, bool overwrite) {
  for_range(n, [&](int64_t s, int64_t e) {
    if (overwrite) {
      for (int64_t i = s; i < e; ++i) dx[i] = dy[i] * gelu_grad(x[i]);
    } else {
      for (int64_t i = s; i < e; ++i) dx[i] += dy[i] * gelu_grad(x[i]);
    }
  });
}

void sigmoid_forward(const float* x, float* y, int64_t n) {
  for_range(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] = 1.0f / (1.0f + fast_exp(-x[i]));
  });
}

void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n) {
  for_range(n, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
  });
}

// Sums in double: gradient norms over millions of elements must not lose digits.
double sum_squares(const float* x, int64_t n) {
  double total = 0;
  for (int64_t s = 0; s < n; s += 4096) total += reduce_dot(x + s, x + s, std::min<int64_t>(4096, n - s));
  return total;
}

double sum(const float* x, int64_t n) {
  double total = 0;
  for (int64_t s = 0; s < n; s += 4096) total += reduce_sum(x + s, std::min<int64_t>(4096, n - s));
  return total;
}

}  // namespace HSM_ISA
}  // namespace hsm
