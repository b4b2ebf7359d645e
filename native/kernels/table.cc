// Assembles this ISA's kernel table (compiled once per ISA, like every file here).
#include "kernels.h"

#define HSM_STR2(x) #x
#define HSM_STR(x) HSM_STR2(x)

namespace hsm {
namespace HSM_ISA {

const KernelTable& table() {
#define HSM_TABLE_ENTRY(c_name, js_name, ret, params) &c_name,
  static const KernelTable t = {HSM_STR(HSM_ISA), HSM_KERNELS(HSM_TABLE_ENTRY)};
#undef HSM_TABLE_ENTRY
  return t;
}

}  // namespace HSM_ISA
}  // namespace hsm
