// One-off A/B harness for the native AVX2 kernels (not part of the build or
// the tests): the kernels of a base revision (namespace hsm::avx2old) and of
// the working tree (hsm::avx2) run in turns on the same inputs, best of
// `reps` each, so a loaded machine disturbs both alike (on one thread, timed
// in thread CPU time). run.sh builds it.
//   kernel_ab <threads> <reps> [filter]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "native/kernels/kernels.h"

namespace hsm {
namespace avx2old {
#define HSM_DECLARE_KERNEL(c_name, js_name, ret, params) ret c_name params;
HSM_KERNELS(HSM_DECLARE_KERNEL)
#undef HSM_DECLARE_KERNEL
}  // namespace avx2old
}  // namespace hsm

using namespace hsm;
using Clock = std::chrono::steady_clock;

static std::vector<float> filled(size_t n, float scale, unsigned seed) {
  std::vector<float> v(n);
  srand(seed);
  for (auto& x : v) x = scale * static_cast<float>(rand() % 2001 - 1000) / 1000.0f;
  return v;
}

// On one thread the calling thread's CPU time, which leaves out the time the
// scheduler gives other processes (a loaded machine disturbs it far less than
// wall time); on more, wall time.
static bool g_cpu_time = false;
static double now_ms() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  }
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

// Best time (ms) of old (side 0) and new (side 1), taking turns.
static void ab(const char* name, double flops, int reps, const std::function<void(int side)>& run) {
  double best[2] = {1e30, 1e30};
  for (int r = 0; r < reps; ++r)
    for (int side = 0; side < 2; ++side) {
      const double t0 = now_ms();
      run(side);
      best[side] = std::min(best[side], now_ms() - t0);
    }
  if (flops > 0)
    std::printf("%-36s old %8.3f ms %6.1f GF/s | new %8.3f ms %6.1f GF/s | x%.2f\n", name, best[0],
                flops / best[0] / 1e6, best[1], flops / best[1] / 1e6, best[0] / best[1]);
  else
    std::printf("%-36s old %8.3f ms | new %8.3f ms | x%.2f\n", name, best[0], best[1], best[0] / best[1]);
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
  const char* only = argc > 3 ? argv[3] : "";
  set_num_threads(threads);
  g_cpu_time = threads == 1;
  auto wanted = [&](const char* name) { return std::strstr(name, only) != nullptr; };

  // Matmul shapes of a training step (m×k×n; Bt: B transposed, At: A transposed; epilogues as the MLP uses them).
  struct Mm {
    int64_t m, k, n;
    bool ta, tb, acc, bias;
    int epilogue;
    const char* name;
  };
  const Mm shapes[] = {
      {4096, 256, 1024, false, true, false, true, 1, "mm d256 fc1 4096x256x1024 Bt gelu"},
      {4096, 256, 1024, false, false, false, false, 2, "mm d256 4096x256x1024 geluGrad"},
      {4096, 256, 1024, false, true, false, true, 0, "mm d256 4096x256x1024 Bt"},
      {256, 4096, 1024, true, false, true, false, 0, "mm d256 256x4096x1024 At acc"},
      {4096, 1024, 256, false, true, false, true, 0, "mm d256 4096x1024x256 Bt"},
      {4096, 256, 768, false, true, false, true, 0, "mm d256 4096x256x768 Bt"},
      {768, 128, 512, false, true, false, true, 1, "mm preset 768x128x512 Bt gelu"},
      {768, 128, 512, false, false, false, false, 2, "mm preset 768x128x512 geluGrad"},
      {768, 512, 128, false, false, false, false, 0, "mm preset 768x512x128"},
      {512, 768, 128, true, false, true, false, 0, "mm preset 512x768x128 At acc"},
      {768, 128, 384, false, true, false, true, 0, "mm preset 768x128x384 Bt"},
      {2048, 128, 512, false, true, false, true, 1, "mm long 2048x128x512 Bt gelu"},
  };
  const auto A = filled(4096 * 4096, 1.0f, 1), B = filled(4096 * 4096, 1.0f, 2), bias = filled(4096, 1.0f, 3);
  std::vector<float> C[2] = {std::vector<float>(4096 * 1024), std::vector<float>(4096 * 1024)};
  std::vector<float> X[2] = {std::vector<float>(4096 * 1024), std::vector<float>(4096 * 1024)};
  for (const Mm& s : shapes) {
    if (!wanted(s.name)) continue;
    // The GELU gradient epilogue reads aux (the pre-activation) and leaves it as it is.
    if (s.epilogue == 2)
      for (auto& x : X) std::memcpy(x.data(), A.data(), sizeof(float) * s.m * s.n);
    ab(s.name, 2.0 * s.m * s.k * s.n, reps, [&](int side) {
      float* c = C[side].data();
      float* x = X[side].data();
      auto* mm = side ? &avx2::matmul : &avx2old::matmul;
      mm(A.data(), B.data(), c, s.m, s.k, s.n, s.ta, s.tb, s.acc, 1, 0, 0, 0, {s.bias ? bias.data() : nullptr},
         s.epilogue, {x});
    });
  }

  // Causal attention (B, T, H, Dh); GF/s from the causal triangle's multiply-adds.
  struct At {
    int64_t b, t, h, dh;
    const char* name;
  };
  const At attn[] = {{16, 256, 4, 64, "attn d256-ctx256"}, {12, 64, 4, 32, "attn preset"}, {4, 512, 4, 32, "attn long"}};
  for (const At& s : attn) {
    const int64_t c = s.h * s.dh, n3 = s.b * s.t * 3 * c, n1 = s.b * s.t * c;
    const auto qkv = filled(n3, 2.0f, 4), dout = filled(n1, 1.0f, 5);
    std::vector<float> out(n1), lse(s.b * s.h * s.t), dq(n3);
    const double half = double(s.t) * (s.t + 1) / 2 * s.dh * 2 * s.b * s.h;
    std::string fwd = std::string(s.name) + " forward", bwd = std::string(s.name) + " backward";
    if (wanted(fwd.c_str()))
      ab(fwd.c_str(), 2 * half, reps, [&](int side) {
        (side ? &avx2::attention_forward : &avx2old::attention_forward)(qkv.data(), out.data(), lse.data(), s.b, s.t,
                                                                          s.h, s.dh);
      });
    avx2::attention_forward(qkv.data(), out.data(), lse.data(), s.b, s.t, s.h, s.dh);
    if (wanted(bwd.c_str()))
      ab(bwd.c_str(), 5 * half, reps, [&](int side) {
        (side ? &avx2::attention_backward : &avx2old::attention_backward)(qkv.data(), out.data(), lse.data(),
                                                                            dout.data(), dq.data(), s.b, s.t, s.h,
                                                                            s.dh);
      });
  }

  // Elementwise kernels at the context study's sizes (2,048 tokens, d=128).
  {
    const int64_t n = 800000;
    auto p = filled(n, 1.0f, 6), g = filled(n, 1.0f, 7), m = filled(n, 0.01f, 8), v = filled(n, 0.01f, 9);
    for (auto& x : v) x = std::fabs(x);
    if (wanted("adamw 800K"))
      ab("adamw 800K", 0, reps, [&](int side) {
        (side ? &avx2::adamw : &avx2old::adamw)(p.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.99f, 1e-8f,
                                                0.1f, 0.5f, 3);
      });
  }
  {
    const int64_t n = 2048, f = 344;
    const auto h = filled(n * 2 * f, 4.0f, 10), dy = filled(n * f, 1.0f, 11);
    std::vector<float> dh(n * 2 * f);
    if (wanted("swigluBackward 2048x344"))
      ab("swigluBackward 2048x344", 0, reps, [&](int side) {
        (side ? &avx2::swiglu_backward : &avx2old::swiglu_backward)(h.data(), dy.data(), dh.data(), n, f, true);
      });
  }
  {
    const int64_t n = 2048 * 128;
    const auto a = filled(n, 1.0f, 12), b = filled(n, 1.0f, 13), dy = filled(n, 1.0f, 14);
    std::vector<float> da(n), db(n);
    if (wanted("mulBackward same shape 2048x128"))
      ab("mulBackward same shape 2048x128", 0, reps, [&](int side) {
        (side ? &avx2::mul_backward : &avx2old::mul_backward)(a.data(), b.data(), dy.data(), {da.data()},
                                                              {db.data()}, 1, n);
      });
  }
  return 0;
}
