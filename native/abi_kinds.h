// Each kernel parameter's ABI kind, deduced from its C++ type (the names of
// src/backend/kernel-abi.ts), and a kernel's signature string built from them.
// Shared by the N-API bindings (addon.cc) and the WebAssembly exports
// (wasm/exports.cc): both publish these strings, and the TypeScript side
// refuses a build whose kernels differ from its own table.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>

#include "kernel_list.h"

namespace hsm {

// A kernel parameter of any other type fails to compile here.
template <class T>
struct AbiKind;
template <>
struct AbiKind<const float*> {
  static constexpr const char* kind = "f32";
};
template <>
struct AbiKind<float*> {
  static constexpr const char* kind = "f32 out";
};
template <>
struct AbiKind<Nullable<const float>> {
  static constexpr const char* kind = "f32?";
};
template <>
struct AbiKind<Nullable<float>> {
  static constexpr const char* kind = "f32? out";
};
template <>
struct AbiKind<const int32_t*> {
  static constexpr const char* kind = "i32";
};
template <>
struct AbiKind<int64_t> {
  static constexpr const char* kind = "int";
};
template <>
struct AbiKind<float> {
  static constexpr const char* kind = "float";
};
template <>
struct AbiKind<double> {
  static constexpr const char* kind = "float";
};
template <>
struct AbiKind<bool> {
  static constexpr const char* kind = "bool";
};

template <class Ret>
constexpr const char* return_kind() {
  static_assert(std::is_void_v<Ret> || std::is_same_v<Ret, double>, "a kernel returns void or double");
  return std::is_void_v<Ret> ? "void" : "number";
}

// "f32, f32 out, int -> void": the kinds kernel-abi.ts must declare for this kernel.
template <class Ret, class... P>
std::string abi_signature(Ret (*)(P...)) {
  std::string s;
  for (const char* kind : {AbiKind<P>::kind...}) s += (s.empty() ? "" : ", ") + std::string(kind);
  return s + " -> " + return_kind<Ret>();
}

}  // namespace hsm
