// Picks the kernel table for this CPU once (HSM_ISA=avx512|avx2|generic overrides).
#pragma once
#include "kernel_table.h"

namespace hsm {
const KernelTable& kernels();
}
