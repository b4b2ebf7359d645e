// N-API bindings, generated from kernel_list.h: each kernel's binding reads its
// JavaScript arguments by the C++ parameter types of its table entry (Param<T>
// below) and calls the dispatched kernel. Length checks live on the TypeScript
// side (src/backend/kernel-abi.ts); here we check types so a wrong argument is
// a TypeError, never a crash. `kernelSignatures` exports every kernel's
// parameter kinds, deduced from the same C++ types (abi_kinds.h), so native.ts can verify on
// load that the TypeScript table declares the same ABI.
#include <node_api.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "abi_kinds.h"
#include "dispatch.h"
#include "threadpool.h"

namespace {

using hsm::kernels;
using hsm::KernelTable;
using hsm::Nullable;

constexpr size_t kMaxArgs = 16;

struct Args {
  napi_env env;
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];

  Args(napi_env e, napi_callback_info info) : env(e) { napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr); }

  napi_value at(size_t i) const {
    if (i >= argc) throw std::invalid_argument("missing argument " + std::to_string(i));
    return argv[i];
  }

  bool is_null(size_t i) const {
    napi_valuetype t;
    napi_typeof(env, at(i), &t);
    return t == napi_null || t == napi_undefined;
  }

  void* typed(size_t i, napi_typedarray_type want, const char* what) const {
    bool ok = false;
    napi_is_typedarray(env, at(i), &ok);
    if (!ok) throw std::invalid_argument(std::string("argument ") + std::to_string(i) + " must be a " + what);
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buffer;
    size_t offset;
    napi_get_typedarray_info(env, at(i), &type, &length, &data, &buffer, &offset);
    if (type != want) throw std::invalid_argument(std::string("argument ") + std::to_string(i) + " must be a " + what);
    return data;
  }

  float* f32(size_t i) const { return static_cast<float*>(typed(i, napi_float32_array, "Float32Array")); }
  float* f32_or_null(size_t i) const { return is_null(i) ? nullptr : f32(i); }
  int32_t* i32(size_t i) const { return static_cast<int32_t*>(typed(i, napi_int32_array, "Int32Array")); }

  int64_t int64(size_t i) const {
    int64_t v;
    if (napi_get_value_int64(env, at(i), &v) != napi_ok)
      throw std::invalid_argument("argument " + std::to_string(i) + " must be a number");
    if (v < 0) throw std::invalid_argument("argument " + std::to_string(i) + " must be non-negative");
    return v;
  }
  double number(size_t i) const {
    double v;
    if (napi_get_value_double(env, at(i), &v) != napi_ok)
      throw std::invalid_argument("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  bool boolean(size_t i) const {
    bool v;
    if (napi_get_value_bool(env, at(i), &v) != napi_ok)
      throw std::invalid_argument("argument " + std::to_string(i) + " must be a boolean");
    return v;
  }
};

// How one C++ parameter type is read from JavaScript (its kind's name: abi_kinds.h).
// A kernel parameter of any other type fails to compile here.
template <class T>
struct Param;
template <>
struct Param<const float*> {
  static const float* get(const Args& a, size_t i) { return a.f32(i); }
};
template <>
struct Param<float*> {
  static float* get(const Args& a, size_t i) { return a.f32(i); }
};
template <>
struct Param<Nullable<const float>> {
  static Nullable<const float> get(const Args& a, size_t i) { return {a.f32_or_null(i)}; }
};
template <>
struct Param<Nullable<float>> {
  static Nullable<float> get(const Args& a, size_t i) { return {a.f32_or_null(i)}; }
};
template <>
struct Param<const int32_t*> {
  static const int32_t* get(const Args& a, size_t i) { return a.i32(i); }
};
template <>
struct Param<int64_t> {
  static int64_t get(const Args& a, size_t i) { return a.int64(i); }
};
template <>
struct Param<float> {
  static float get(const Args& a, size_t i) { return static_cast<float>(a.number(i)); }
};
template <>
struct Param<double> {
  static double get(const Args& a, size_t i) { return a.number(i); }
};
template <>
struct Param<bool> {
  static bool get(const Args& a, size_t i) { return a.boolean(i); }
};

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

napi_value number(napi_env env, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  return v;
}

napi_value string(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

// Calls body(args); argument errors become JavaScript TypeErrors.
template <class Body>
napi_value guarded(napi_env env, napi_callback_info info, Body body) {
  try {
    Args a(env, info);
    return body(a);
  } catch (const std::exception& e) {
    napi_throw_type_error(env, nullptr, e.what());
    return nullptr;
  }
}

// fn(argument 0 as P0, argument 1 as P1, ...).
template <class Ret, class... P, size_t... I>
Ret invoke(Ret (*fn)(P...), const Args& a, std::index_sequence<I...>) {
  return fn(Param<P>::get(a, I)...);
}

template <class Ret, class... P>
napi_value call(Ret (*fn)(P...), const Args& a) {
  static_assert(sizeof...(P) <= kMaxArgs, "raise kMaxArgs");
  if constexpr (std::is_void_v<Ret>) {
    invoke(fn, a, std::index_sequence_for<P...>{});
    return undefined(a.env);
  } else {
    return number(a.env, invoke(fn, a, std::index_sequence_for<P...>{}));
  }
}

// The binding of one table entry; the kernel is looked up per call because
// the table is chosen at load time (dispatch.cc).
template <auto KernelTable::*entry>
napi_value bind(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](Args& a) { return call(kernels().*entry, a); });
}

napi_value Isa(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](Args& a) { return string(a.env, kernels().isa); });
}
napi_value Threads(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](Args& a) { return number(a.env, hsm::num_threads()); });
}
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, info, [](Args& a) {
    hsm::set_num_threads(static_cast<int>(std::max<int64_t>(1, a.int64(0))));
    return undefined(a.env);
  });
}

napi_value Init(napi_env env, napi_value exports) {
#define HSM_PROPERTY(name, fn) \
  { name, nullptr, fn, nullptr, nullptr, nullptr, napi_default, nullptr }
#define HSM_BINDING(c_name, js_name, ret, params) HSM_PROPERTY(#js_name, bind<&KernelTable::c_name>),
  const napi_property_descriptor props[] = {HSM_PROPERTY("isa", Isa), HSM_PROPERTY("threads", Threads),
                                            HSM_PROPERTY("setThreads", SetThreads), HSM_KERNELS(HSM_BINDING)};
#undef HSM_BINDING
#undef HSM_PROPERTY
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);

  napi_value signatures;
  napi_create_object(env, &signatures);
#define HSM_SIGNATURE(c_name, js_name, ret, params) \
  napi_set_named_property(env, signatures, #js_name, string(env, hsm::abi_signature(decltype(KernelTable::c_name){})));
  HSM_KERNELS(HSM_SIGNATURE)
#undef HSM_SIGNATURE
  napi_set_named_property(env, exports, "kernelSignatures", signatures);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
