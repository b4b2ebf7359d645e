// Declarations of one ISA's kernels, from kernel_list.h. Every .cc under
// native/kernels/ is compiled once per ISA with -DHSM_ISA=<namespace> and
// matching -m flags (see binding.gyp), so the same source yields avx512::,
// avx2::, generic:: and (built by scripts/build-wasm.cjs) wasm::.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../kernel_table.h"
#include "../threadpool.h"

#ifndef HSM_ISA
#error "HSM_ISA must name the instruction-set namespace (avx512, avx2, generic, wasm)"
#endif

// Per-thread scratch (packing buffers, score rows). The WebAssembly build is
// single-threaded and its toolchain has no thread-local storage without the
// atomics feature, so there such scratch is simply static.
#if defined(__wasm__) && !defined(__wasm_atomics__)
#define HSM_THREAD_LOCAL static
#else
#define HSM_THREAD_LOCAL thread_local
#endif

namespace hsm {
namespace HSM_ISA {

#define HSM_DECLARE_KERNEL(c_name, js_name, ret, params) ret c_name params;
HSM_KERNELS(HSM_DECLARE_KERNEL)
#undef HSM_DECLARE_KERNEL

}  // namespace HSM_ISA
}  // namespace hsm
