#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace hsm {
namespace {

int default_threads() {
  if (const char* env = std::getenv("HSM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

// How long an idle worker spins before it sleeps on the condition variable.
constexpr std::chrono::microseconds kSpin{100};

class Pool {
 public:
  Pool() : threads_(default_threads()) {}
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int threads() const { return threads_; }
  void set_threads(int n) { threads_ = std::max(1, n); }

  void run(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
    const int want = static_cast<int>(std::min<int64_t>(threads_, n_tasks));
    if (want <= 1 || in_parallel_ || in_parallel_worker()) {
      for (int64_t t = 0; t < n_tasks; ++t) fn(t);
      return;
    }
    ensure_workers(want - 1);
    job_ = &fn;
    n_tasks_ = n_tasks;
    next_task_.store(0);
    active_workers_ = want - 1;
    in_parallel_ = true;
    open_.store(true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    drain();
    // The calling thread has taken every task no worker took. Close the run
    // and wait only for workers inside it: a worker that has not started
    // (its core busy with another process, or its virtual CPU descheduled)
    // finds the run closed and does nothing, instead of holding the caller
    // for a time slice.
    open_.store(false);
    while (entered_.load() != 0) std::this_thread::yield();
    in_parallel_ = false;
    job_ = nullptr;
  }

 private:
  void ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      // The worker must compare against the generation *before* this run's
      // bump: reading it inside the new thread could already see the bump and
      // then sleep through the very job it was created for.
      const int id = static_cast<int>(workers_.size());
      const uint64_t seen = generation_.load();
      workers_.emplace_back([this, id, seen] { worker_loop(id, seen); });
    }
  }

  void drain() {
    for (;;) {
      int64_t t = next_task_.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_tasks_) break;
      (*job_)(t);
    }
  }

  void worker_loop(int id, uint64_t seen) {
    for (;;) {
      // Spin briefly: consecutive kernels arrive microseconds apart. The spin
      // is bounded in time, not in pauses (a pause costs 10-140 cycles
      // depending on the CPU), and short: a server's decode steps are
      // separated by I/O, and a worker spinning through it takes the core
      // the clients and the event loop need.
      const auto spin_until = std::chrono::steady_clock::now() + kSpin;
      for (int spins = 1; generation_.load(std::memory_order_acquire) == seen; ++spins) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
        if (spins % 64 == 0 && std::chrono::steady_clock::now() >= spin_until) break;
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_) return;
      // Announce, then check that the run is still open. The caller closes
      // it before it reads entered_, and all four accesses are sequentially
      // consistent: either the caller waits for this worker, or this worker
      // sees the run closed and touches nothing of it.
      entered_.fetch_add(1);
      if (open_.load() && id < active_workers_) {
        in_parallel_worker() = true;
        drain();
        in_parallel_worker() = false;
      }
      entered_.fetch_sub(1);
    }
  }

  static bool& in_parallel_worker() {
    thread_local bool flag = false;
    return flag;
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_task_{0};
  std::atomic<bool> open_{false};  // the current run still takes workers
  std::atomic<int> entered_{0};    // workers between announcing themselves and leaving a run
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t n_tasks_ = 0;
  int active_workers_ = 0;
  bool stopping_ = false;
  bool in_parallel_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }

void parallel_tasks(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  if (n_tasks <= 0) return;
  pool().run(n_tasks, fn);
}

void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  // A few chunks per thread rather than one: on a shared machine a descheduled
  // thread's share is then picked up by the others instead of stalling the call.
  const int threads = num_threads();
  const int64_t per_thread = threads > 1 ? 4 : 1;
  int64_t chunks = std::min<int64_t>(threads * per_thread, std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk)));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  parallel_tasks(chunks, [&](int64_t c) {
    int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace hsm
