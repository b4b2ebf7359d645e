// What the WebAssembly module exports besides memory: the kernel table (the
// same KernelTable the addon dispatches to, its entries indices into the
// function table that src/backend/wasm.ts calls), every kernel's signature
// (checked against kernel-abi.ts on load, as the addon's are) and an allocator
// for the arrays the glue copies in and out.
#include <cstdlib>
#include <string>

#include "../abi_kinds.h"
#include "../kernel_table.h"

namespace hsm {
namespace wasm {
const KernelTable& table();
}
}  // namespace hsm

#define HSM_EXPORT(name) extern "C" __attribute__((export_name(name)))

HSM_EXPORT("kernelTable") const hsm::KernelTable* kernel_table() { return &hsm::wasm::table(); }

// "matmul: f32, f32, ... -> void\n" per kernel, in the table's order.
HSM_EXPORT("kernelSignatures") const char* kernel_signatures() {
  static const std::string all = [] {
    std::string s;
#define HSM_SIGNATURE(c_name, js_name, ret, params) \
  s += std::string(#js_name) + ": " + hsm::abi_signature(decltype(hsm::KernelTable::c_name){}) + "\n";
    HSM_KERNELS(HSM_SIGNATURE)
#undef HSM_SIGNATURE
    return s;
  }();
  return all.c_str();
}

// 16-byte aligned (one SIMD128 vector); null when memory cannot grow further.
HSM_EXPORT("allocate") void* allocate(size_t bytes) { return std::aligned_alloc(16, (bytes + 15) / 16 * 16); }
HSM_EXPORT("release") void release(void* p) { std::free(p); }
