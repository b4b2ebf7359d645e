// One decoding step of causal attention: a single query row against the
// cached keys and values of one sequence. O(t·C) work per token, so it is
// memory-bound; heads are independent and split across the pool when t is long.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fast_math.h"
#include "kernels.h"
#include "reduce.h"

namespace hsm {
namespace HSM_ISA {

void attention_decode(const float* q, const float* keys, const float* values, float* out, int64_t t, int64_t h,
                      int64_t dh) {
  const int64_t c = h * dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  auto one_head = [&](int64_t head) {
    HSM_THREAD_LOCAL std::vector<float> scores;
    if (static_cast<int64_t>(scores.size()) < t) scores.resize(t);
    const float* qh = q + head * dh;
    float max = -INFINITY;
    for (int64_t u = 0; u < t; ++u) {
      scores[u] = reduce_dot(qh, keys + u * c + head * dh, dh) * scale;
      max = std::max(max, scores[u]);
    }
    float sum = 0;
    for (int64_t u = 0; u < t; ++u) sum += scores[u] = fast_exp(scores[u] - max);
    float* o = out + head * dh;
    std::fill(o, o + dh, 0.0f);
    const float inv = 1.0f / sum;
    for (int64_t u = 0; u < t; ++u) {
      const float w = scores[u] * inv;
      const float* v = values + u * c + head * dh;
      for (int64_t i = 0; i < dh; ++i) o[i] += w * v[i];
    }
  };
  if (t * c < (1 << 16)) {
    for (int64_t head = 0; head < h; ++head) one_head(head);
  } else {
    parallel_tasks(h, one_head);
  }
}

}  // namespace HSM_ISA
}  // namespace hsm
