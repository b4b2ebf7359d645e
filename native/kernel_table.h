// The native kernel set. Every file under native/kernels/ is compiled three
// times (AVX-512, AVX2+FMA, portable) into its own namespace; at load time
// dispatch.cc picks the best table the CPU supports. The members follow from
// kernel_list.h, one function pointer per kernel.
#pragma once
#include <cstdint>

#include "kernel_list.h"

namespace hsm {

// matmul's `epilogue` codes (src/backend/native.ts maps the names to these).
enum MatmulEpilogue { kEpilogueNone = 0, kEpilogueGelu = 1, kEpilogueGeluGrad = 2 };

struct KernelTable {
  const char* isa;
#define HSM_TABLE_MEMBER(c_name, js_name, ret, params) ret(*c_name) params;
  HSM_KERNELS(HSM_TABLE_MEMBER)
#undef HSM_TABLE_MEMBER
};

namespace avx512 {
const KernelTable& table();
}
namespace avx2 {
const KernelTable& table();
}
namespace generic {
const KernelTable& table();
}

}  // namespace hsm
