// Declarations of one ISA's kernels, from kernel_list.h. Every .cc under
// native/kernels/ is compiled once per ISA with -DHSM_ISA=<namespace> and
// matching -m flags (see binding.gyp), so the same source yields avx512::,
// avx2:: and generic::.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../kernel_table.h"
#include "../threadpool.h"

#ifndef HSM_ISA
#error "HSM_ISA must name the instruction-set namespace (avx512, avx2, generic)"
#endif

namespace hsm {
namespace HSM_ISA {

#define HSM_DECLARE_KERNEL(c_name, js_name, ret, params) ret c_name params;
HSM_KERNELS(HSM_DECLARE_KERNEL)
#undef HSM_DECLARE_KERNEL

}  // namespace HSM_ISA
}  // namespace hsm
