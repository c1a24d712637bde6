// A fixed set of worker threads running Status-returning tasks, with a byte budget that bounds
// the memory held by queued and running tasks, and the first error kept for the submitter.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"

namespace vdisk::qcow2 {

class WorkQueue {
 public:
  WorkQueue(unsigned threads, uint64_t budget_bytes);
  ~WorkQueue();  // finishes the queued tasks, then joins
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Waits until `bytes` fit in the budget (a task is always admitted when nothing else is in
  // flight), then queues `task`; its bytes are released when it finishes. Every queued task
  // runs (so a task may fulfil a promise); tasks check failed() to skip needless work. Once a
  // task has failed, Submit returns false without queuing.
  bool Submit(uint64_t bytes, std::function<Status()> task);

  // Waits until every queued task has finished and returns the first error.
  Status Wait();

  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Records an error found outside the tasks (e.g. cancellation), as if a task had failed.
  void Fail(Status status);

 private:
  struct Task {
    uint64_t bytes;
    std::function<Status()> run;
  };
  void Work();

  const uint64_t budget_;
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable progress_;
  std::deque<Task> queue_;
  uint64_t bytes_in_flight_ = 0;
  uint64_t tasks_in_flight_ = 0;
  bool stopping_ = false;
  Status first_error_;
  std::atomic<bool> failed_{false};  // first_error_ is set; read without the lock
  std::vector<std::thread> threads_;
};

}  // namespace vdisk::qcow2
