#include "dispatch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hsm {
namespace {

bool cpu_has_avx512() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_has_avx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

const KernelTable& choose() {
  const char* want = std::getenv("HSM_ISA");
  if (want && *want) {
    // An explicit request the CPU cannot run falls through to detection below.
    if (std::strcmp(want, "generic") == 0) return generic::table();
    if (std::strcmp(want, "avx2") == 0 && cpu_has_avx2()) return avx2::table();
    if (std::strcmp(want, "avx512") == 0 && cpu_has_avx512()) return avx512::table();
    std::fprintf(stderr, "hsm: HSM_ISA=%s is not usable on this CPU; detecting instead\n", want);
  }
  if (cpu_has_avx512()) return avx512::table();
  if (cpu_has_avx2()) return avx2::table();
  return generic::table();
}

}  // namespace

const KernelTable& kernels() {
  static const KernelTable& table = choose();
  return table;
}

}  // namespace hsm
