// A small persistent thread pool shared by every native kernel.
//
// Why hand-written: kernels are called thousands of times per training step
// with sub-millisecond bodies, so the pool must wake in microseconds (workers
// spin briefly before sleeping) and must not allocate per call. std::async and
// OpenMP's runtime are either too slow to wake or not available to node-gyp
// builds without extra system libraries.
#pragma once
#include <cstdint>
#include <functional>

namespace hsm {

// Number of threads kernels use (the calling thread counts as one).
int num_threads();
// Change the thread count (>= 1). Threads are created or parked lazily.
void set_num_threads(int n);

// Calls fn(task) for every task in [0, n_tasks), spread over the pool.
// Tasks are handed out dynamically, so uneven tasks balance themselves.
// Blocks until all tasks finished. Nested calls run serially.
void parallel_tasks(int64_t n_tasks, const std::function<void(int64_t task)>& fn);

// Calls fn(begin, end) on contiguous chunks that cover [0, n): a few chunks
// per thread, handed out dynamically (never more chunks than n / min_chunk).
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t begin, int64_t end)>& fn);

}  // namespace hsm
