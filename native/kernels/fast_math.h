// One e^x for every native kernel: fast_exp(v), for a float or for the SIMD
// vector types of the hand-written kernels (__m512, __m256, a 4-float GCC
// vector). The float form is branch-free, so plain loops over it vectorize (a
// libm expf call would stop the loop from vectorizing); the vector forms serve
// code with explicit registers (attention). All forms share the constants, the
// range reduction and the polynomial (the template at the end); only clamping,
// rounding and the final 2^n step use each type's own instructions.
//
// e^x = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln2, |r| ≤ ln2/2 (ln2
// split in two so r stays exact enough); e^r = 1 + r + r²·P(r), P a degree-5
// minimax polynomial (Cephes' expf): about 1 ulp on [-87, 88]. Above 88 it
// saturates at e^88. Below -87 (and for NaN) the vector forms give exactly 0,
// which is how masked attention scores and exp(−inf) vanish; the float form
// gives e^-87 ≈ 1.6e-38 there, as that select would slow the auto-vectorized
// loops and their inputs are never masked.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
// GCC 12 reports a false -Wmaybe-uninitialized inside the AVX-512 headers
// (_mm512_undefined_ps); silence it for the header's own lines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace hsm {
namespace {  // internal linkage: every ISA build keeps its own copy

constexpr float kExpLo = -87.0f;  // e^-87 ≈ 1.6e-38: 2^n stays a normal float
constexpr float kExpHi = 88.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;  // ln 2 = kLn2Hi + kLn2Lo, n·kLn2Hi exact
constexpr float kLn2Lo = -2.12194440e-4f;

// The per-type steps: clamp to [kExpLo, kExpHi] (NaN to a bound), round to the
// nearest integer, and p·2^n (zeroed where x < kExpLo or x is NaN, except for float).
inline float exp_clamp(float x) {
  x = x >= kExpLo ? x : kExpLo;
  return x < kExpHi ? x : kExpHi;
}
inline float exp_round(float t) { return __builtin_floorf(t + 0.5f); }
inline float exp_scale(float /*x*/, float p, float n) {
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n;
}

#if defined(__AVX512F__)
inline __m512 exp_clamp(__m512 x) {
  return _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(kExpHi)), _mm512_set1_ps(kExpLo));
}
inline __m512 exp_round(__m512 t) { return _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline __m512 exp_scale(__m512 x, __m512 p, __m512 n) {
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpLo), _CMP_GE_OQ);
  return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(p, n));
}
#endif

#if defined(__AVX2__) && defined(__FMA__)
inline __m256 exp_clamp(__m256 x) {
  return _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(kExpHi)), _mm256_set1_ps(kExpLo));
}
inline __m256 exp_round(__m256 t) { return _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline __m256 exp_scale(__m256 x, __m256 p, __m256 n) {
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(kExpLo), _CMP_GE_OQ);
  return _mm256_and_ps(keep, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}
#endif

#if defined(__GNUC__)
// Portable GCC/Clang vectors of 4 floats (SSE2 on x86-64, NEON on arm64).
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
inline v4f exp_select(v4i mask, v4f a, v4f b) {  // mask lanes are 0 or −1
  return reinterpret_cast<v4f>((mask & reinterpret_cast<v4i>(a)) | (~mask & reinterpret_cast<v4i>(b)));
}
inline v4f exp_clamp(v4f x) {
  x = exp_select(x > kExpLo, x, v4f{} + kExpLo);
  return exp_select(x < kExpHi, x, v4f{} + kExpHi);
}
// Round to nearest via the 1.5·2^23 trick (exact for |t| < 2^22): SSE2 has no vector round.
inline v4f exp_round(v4f t) { return (t + 12582912.0f) - 12582912.0f; }
inline v4f exp_scale(v4f x, v4f p, v4f n) {
  const v4i e = (__builtin_convertvector(n, v4i) + 127) << 23;
  return exp_select(x >= kExpLo, p * reinterpret_cast<v4f>(e), v4f{});
}
#endif

// e^x for V = float or one of the vector types above. The arithmetic is plain
// operators (GCC/Clang vector extensions apply them lane-wise to __m256 and
// __m512 too, and contract a·b + c into FMA where the ISA has it).
template <class V>
inline V fast_exp(V x) {
  const V xc = exp_clamp(x);
  const V n = exp_round(xc * kLog2e);
  V r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  V p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return exp_scale(x, p, n);
}

}  // namespace
}  // namespace hsm
