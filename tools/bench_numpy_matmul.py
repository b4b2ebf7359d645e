"""numpy.matmul (OpenBLAS) timings for `hsm bench kernels`, printed as JSON Lines.

Usage: OPENBLAS_NUM_THREADS=T python3 tools/bench_numpy_matmul.py T MxKxN [MxKxN ...]
The caller sets OPENBLAS_NUM_THREADS and unsets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
(on this machine those pick an older, slower OpenBLAS kernel).
"""
import json
import sys
import time

import numpy as np

threads = int(sys.argv[1])


def bench(m, k, n, budget=1.0):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    np.matmul(a, b)
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 1000):
        t0 = time.perf_counter()
        np.matmul(a, b)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0] * 1e3, times[len(times) // 2] * 1e3, len(times)


def main():
    for shape in sys.argv[2:]:
        m, k, n = (int(x) for x in shape.split("x"))
        best, median, reps = bench(m, k, n)
        print(json.dumps({
            "bench": "kernels", "op": "matmul", "backend": "numpy", "threads": threads, "shape": shape,
            "gflops": 2 * m * k * n / (best * 1e6), "ms": best, "median_ms": median, "reps": reps,
            "numpy": np.__version__,
        }), flush=True)


main()
