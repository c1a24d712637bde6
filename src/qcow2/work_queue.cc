// Worker threads with a byte budget and first-error bookkeeping (see work_queue.h).
#include "qcow2/work_queue.h"

#include <algorithm>

namespace vdisk::qcow2 {

WorkQueue::WorkQueue(unsigned threads, uint64_t budget_bytes) : budget_(budget_bytes) {
  threads = std::max(1u, threads);
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkQueue::Submit(uint64_t bytes, std::function<Status()> task) {
  std::unique_lock lock(mu_);
  progress_.wait(lock, [&] {
    return !first_error_.ok() || tasks_in_flight_ == 0 || bytes_in_flight_ + bytes <= budget_;
  });
  if (!first_error_.ok()) return false;
  bytes_in_flight_ += bytes;
  ++tasks_in_flight_;
  queue_.push_back({bytes, std::move(task)});
  lock.unlock();
  work_ready_.notify_one();
  return true;
}

Status WorkQueue::Wait() {
  std::unique_lock lock(mu_);
  progress_.wait(lock, [&] { return tasks_in_flight_ == 0; });
  return first_error_;
}

void WorkQueue::Fail(Status status) {
  {
    std::lock_guard lock(mu_);
    if (first_error_.ok()) first_error_ = std::move(status);
    failed_ = !first_error_.ok();
  }
  progress_.notify_all();
}

void WorkQueue::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Status status = task.run();
    task.run = nullptr;  // release what the task captured before its bytes are released
    lock.lock();
    if (!status.ok() && first_error_.ok()) {
      first_error_ = std::move(status);
      failed_ = true;
    }
    bytes_in_flight_ -= task.bytes;
    --tasks_in_flight_;
    // Notified without the lock, so that the woken submitter does not block on it at once.
    lock.unlock();
    progress_.notify_all();
    lock.lock();
  }
}

}  // namespace vdisk::qcow2
