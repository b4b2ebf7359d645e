// The thread pool's interface (threadpool.h) for the single-threaded
// WebAssembly build: every parallel loop runs on the calling thread. A page
// gets no threads without cross-origin isolation (SharedArrayBuffer needs the
// COOP/COEP headers), so the wasm backend starts single-threaded.
#include "../threadpool.h"

namespace hsm {

int num_threads() { return 1; }
void set_num_threads(int) {}

void parallel_tasks(int64_t n_tasks, const std::function<void(int64_t task)>& fn) {
  for (int64_t task = 0; task < n_tasks; ++task) fn(task);
}

void parallel_for(int64_t n, int64_t, const std::function<void(int64_t begin, int64_t end)>& fn) {
  if (n > 0) fn(0, n);
}

}  // namespace hsm
