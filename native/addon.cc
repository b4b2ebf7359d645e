// N-API bindings: unpack JavaScript arguments (typed arrays and numbers) and
// call the dispatched kernel. Length checks live on the TypeScript side
// (src/backend/native.ts); here we check types so a wrong argument is a
// TypeError, never a crash.
#include <node_api.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "dispatch.h"
#include "threadpool.h"

namespace {

using hsm::kernels;

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }

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
    if (napi_get_value_int64(env, at(i), &v) != napi_ok) throw std::invalid_argument("argument " + std::to_string(i) + " must be a number");
    if (v < 0) throw std::invalid_argument("argument " + std::to_string(i) + " must be non-negative");
    return v;
  }
  double number(size_t i) const {
    double v;
    if (napi_get_value_double(env, at(i), &v) != napi_ok) throw std::invalid_argument("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  bool boolean(size_t i) const {
    bool v;
    if (napi_get_value_bool(env, at(i), &v) != napi_ok) throw std::invalid_argument("argument " + std::to_string(i) + " must be a boolean");
    return v;
  }
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

// Wraps a binding body so argument errors become JavaScript TypeErrors.
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

#define BINDING(name) napi_value name(napi_env env, napi_callback_info info) { return guarded(env, info, [&](Args& a) -> napi_value
#define END_BINDING ); }

BINDING(Isa) {
  napi_value s;
  napi_create_string_utf8(env, kernels().isa, NAPI_AUTO_LENGTH, &s);
  return s;
} END_BINDING
BINDING(Threads) { return number(env, hsm::num_threads()); } END_BINDING
BINDING(SetThreads) { hsm::set_num_threads(static_cast<int>(std::max<int64_t>(1, a.int64(0)))); return undefined(env); } END_BINDING

BINDING(Matmul) {
  hsm::MatmulArgs m{a.f32(0), a.f32(1), a.f32(2), a.int64(3), a.int64(4), a.int64(5), a.boolean(6), a.boolean(7),
                    a.boolean(8), a.int64(9), a.int64(10), a.int64(11), a.int64(12), a.f32_or_null(13),
                    static_cast<int>(a.int64(14)), a.f32_or_null(15)};
  if (m.bias && m.accumulate) throw std::invalid_argument("matmul: a bias cannot be combined with accumulate");
  if (m.epilogue != hsm::kEpilogueNone) {
    if (m.epilogue != hsm::kEpilogueGelu && m.epilogue != hsm::kEpilogueGeluGrad) throw std::invalid_argument("matmul: unknown epilogue");
    if (!m.aux || m.accumulate || m.batch != 1) throw std::invalid_argument("matmul: an epilogue needs aux, one item and no accumulate");
  }
  kernels().matmul(m);
  return undefined(env);
} END_BINDING

BINDING(AttentionForward) {
  hsm::AttentionShape s{a.int64(3), a.int64(4), a.int64(5), a.int64(6)};
  kernels().attention_forward(a.f32(0), a.f32(1), a.f32(2), s);
  return undefined(env);
} END_BINDING

BINDING(AttentionBackward) {
  hsm::AttentionShape s{a.int64(5), a.int64(6), a.int64(7), a.int64(8)};
  kernels().attention_backward(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.f32(4), s);
  return undefined(env);
} END_BINDING

BINDING(AttentionDecode) {
  kernels().attention_decode(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.int64(4), a.int64(5), a.int64(6));
  return undefined(env);
} END_BINDING

BINDING(LayerNormForward) {
  kernels().layer_norm_forward(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.f32(4), a.f32(5), a.int64(6), a.int64(7),
                               static_cast<float>(a.number(8)));
  return undefined(env);
} END_BINDING

BINDING(LayerNormBackward) {
  kernels().layer_norm_backward(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.f32(4), a.f32_or_null(5), a.f32_or_null(6),
                                a.f32_or_null(7), a.int64(8), a.int64(9));
  return undefined(env);
} END_BINDING

BINDING(AddForward) { kernels().add_forward(a.f32(0), a.f32(1), a.f32(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(AddBackward) { kernels().add_backward(a.f32(0), a.f32_or_null(1), a.f32_or_null(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(MulForward) { kernels().mul_forward(a.f32(0), a.f32(1), a.f32(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(MulBackward) {
  kernels().mul_backward(a.f32(0), a.f32(1), a.f32(2), a.f32_or_null(3), a.f32_or_null(4), a.int64(5), a.int64(6));
  return undefined(env);
} END_BINDING
BINDING(Scale) { kernels().scale(a.f32(0), static_cast<float>(a.number(1)), a.f32(2), a.int64(3)); return undefined(env); } END_BINDING
BINDING(Axpy) { kernels().axpy(static_cast<float>(a.number(0)), a.f32(1), a.f32(2), a.int64(3)); return undefined(env); } END_BINDING
BINDING(GeluForward) { kernels().gelu_forward(a.f32(0), a.f32(1), a.int64(2)); return undefined(env); } END_BINDING
BINDING(GeluBackward) { kernels().gelu_backward(a.f32(0), a.f32(1), a.f32(2), a.int64(3), a.boolean(4)); return undefined(env); } END_BINDING
BINDING(SigmoidForward) { kernels().sigmoid_forward(a.f32(0), a.f32(1), a.int64(2)); return undefined(env); } END_BINDING
BINDING(SigmoidBackward) { kernels().sigmoid_backward(a.f32(0), a.f32(1), a.f32(2), a.int64(3)); return undefined(env); } END_BINDING
BINDING(SoftmaxForward) { kernels().softmax_forward(a.f32(0), a.f32(1), a.int64(2), a.int64(3)); return undefined(env); } END_BINDING
BINDING(SoftmaxBackward) { kernels().softmax_backward(a.f32(0), a.f32(1), a.f32(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(CrossEntropyForward) {
  kernels().cross_entropy_forward(a.f32(0), a.i32(1), a.f32(2), a.f32(3), a.int64(4), a.int64(5));
  return undefined(env);
} END_BINDING
BINDING(CrossEntropyBackward) {
  kernels().cross_entropy_backward(a.f32(0), a.i32(1), a.f32(2), a.f32(3), static_cast<float>(a.number(4)), a.int64(5), a.int64(6));
  return undefined(env);
} END_BINDING
BINDING(EmbeddingForward) { kernels().embedding_forward(a.f32(0), a.i32(1), a.f32(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(EmbeddingBackward) { kernels().embedding_backward(a.i32(0), a.f32(1), a.f32(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(GroupSum) { kernels().group_sum(a.f32(0), a.f32(1), a.int64(2), a.int64(3), a.int64(4)); return undefined(env); } END_BINDING
BINDING(GroupExpand) {
  kernels().group_expand(a.f32(0), a.f32(1), a.int64(2), a.int64(3), a.int64(4), a.boolean(5));
  return undefined(env);
} END_BINDING
BINDING(ShiftForward) {
  kernels().shift_forward(a.f32(0), a.f32(1), a.int64(2), a.int64(3), a.int64(4), a.i32(5), a.int64(6));
  return undefined(env);
} END_BINDING
BINDING(ShiftBackward) {
  kernels().shift_backward(a.f32(0), a.f32(1), a.int64(2), a.int64(3), a.int64(4), a.i32(5), a.int64(6));
  return undefined(env);
} END_BINDING
BINDING(ShiftMixForward) {
  kernels().shift_mix_forward(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.int64(4), a.int64(5), a.int64(6), a.i32(7), a.int64(8));
  return undefined(env);
} END_BINDING
BINDING(ShiftMixBackward) {
  kernels().shift_mix_backward(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.f32_or_null(4), a.f32_or_null(5), a.f32_or_null(6),
                               a.int64(7), a.int64(8), a.int64(9), a.i32(10), a.int64(11));
  return undefined(env);
} END_BINDING
BINDING(SumSquares) { return number(env, kernels().sum_squares(a.f32(0), a.int64(1))); } END_BINDING
BINDING(Sum) { return number(env, kernels().sum(a.f32(0), a.int64(1))); } END_BINDING
BINDING(AdamW) {
  kernels().adamw(a.f32(0), a.f32(1), a.f32(2), a.f32(3), a.int64(4), static_cast<float>(a.number(5)),
                  static_cast<float>(a.number(6)), static_cast<float>(a.number(7)), static_cast<float>(a.number(8)),
                  static_cast<float>(a.number(9)), static_cast<float>(a.number(10)), a.int64(11));
  return undefined(env);
} END_BINDING

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
#define FN(js, c) {js, nullptr, c, nullptr, nullptr, nullptr, napi_default, nullptr}
      FN("isa", Isa), FN("threads", Threads), FN("setThreads", SetThreads), FN("matmul", Matmul),
      FN("attentionForward", AttentionForward), FN("attentionBackward", AttentionBackward),
      FN("attentionDecode", AttentionDecode), FN("layerNormForward", LayerNormForward), FN("layerNormBackward", LayerNormBackward),
      FN("addForward", AddForward), FN("addBackward", AddBackward), FN("mulForward", MulForward),
      FN("mulBackward", MulBackward), FN("scale", Scale), FN("axpy", Axpy), FN("geluForward", GeluForward),
      FN("geluBackward", GeluBackward), FN("sigmoidForward", SigmoidForward), FN("sigmoidBackward", SigmoidBackward),
      FN("softmaxForward", SoftmaxForward), FN("softmaxBackward", SoftmaxBackward),
      FN("crossEntropyForward", CrossEntropyForward), FN("crossEntropyBackward", CrossEntropyBackward),
      FN("embeddingForward", EmbeddingForward), FN("embeddingBackward", EmbeddingBackward),
      FN("groupSum", GroupSum), FN("groupExpand", GroupExpand), FN("shiftForward", ShiftForward), FN("shiftBackward", ShiftBackward), FN("shiftMixForward", ShiftMixForward), FN("shiftMixBackward", ShiftMixBackward), FN("sumSquares", SumSquares),
      FN("sum", Sum), FN("adamw", AdamW),
#undef FN
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
