{
  # The native backend. native/kernels/*.cc are compiled three times, once per
  # instruction set, into static libraries with their own namespaces; the addon
  # links all three and picks one at run time (native/dispatch.cc).
  "target_defaults": {
    # -fno-trapping-math and -fno-math-errno let the compiler vectorize loops with
    # clamps, floor and sqrt (we never read FP exception flags or errno); no -ffast-math,
    # so results stay IEEE.
    "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fexceptions",
                  "-fno-trapping-math", "-fno-math-errno"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
    "cflags!": ["-fno-exceptions"]
  },
  "targets": [
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": [
        "native/kernels/matmul.cc", "native/kernels/attention.cc", "native/kernels/elementwise.cc",
        "native/kernels/normalization.cc", "native/kernels/indexing.cc", "native/kernels/optimizer.cc", "native/kernels/shift_mix.cc", "native/kernels/attention_decode.cc", "native/kernels/block_style.cc",
        "native/kernels/fma_peak.cc", "native/kernels/table.cc"
      ],
      "defines": ["HSM_ISA=avx512"],
      "cflags_cc": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma", "-mprefer-vector-width=512"]
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": [
        "native/kernels/matmul.cc", "native/kernels/attention.cc", "native/kernels/elementwise.cc",
        "native/kernels/normalization.cc", "native/kernels/indexing.cc", "native/kernels/optimizer.cc", "native/kernels/shift_mix.cc", "native/kernels/attention_decode.cc", "native/kernels/block_style.cc",
        "native/kernels/fma_peak.cc", "native/kernels/table.cc"
      ],
      "defines": ["HSM_ISA=avx2"],
      "cflags_cc": ["-mavx2", "-mfma"]
    },
    {
      "target_name": "kernels_generic",
      "type": "static_library",
      "sources": [
        "native/kernels/matmul.cc", "native/kernels/attention.cc", "native/kernels/elementwise.cc",
        "native/kernels/normalization.cc", "native/kernels/indexing.cc", "native/kernels/optimizer.cc", "native/kernels/shift_mix.cc", "native/kernels/attention_decode.cc", "native/kernels/block_style.cc",
        "native/kernels/fma_peak.cc", "native/kernels/table.cc"
      ],
      "defines": ["HSM_ISA=generic"]
    },
    {
      "target_name": "hsm_native",
      "sources": ["native/addon.cc", "native/dispatch.cc", "native/threadpool.cc"],
      "dependencies": ["kernels_avx512", "kernels_avx2", "kernels_generic"],
      "libraries": ["-lpthread"]
    }
  ]
}
