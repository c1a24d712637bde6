// Back-off and attempt counting for transient HTTP failures.
#include "transport/retry.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "transport/http_error.h"

namespace vdisk::transport {

RetryBudget::RetryBudget(const HttpOptions& options, std::stop_token stop)
    : options_(options), stop_(std::move(stop)) {}

Status RetryBudget::AfterFailure(const Status& cause, bool made_progress) {
  if (!IsTransient(cause)) return cause;
  if (made_progress) failures_in_a_row_ = 0;
  ++failures_in_a_row_;
  if (failures_in_a_row_ >= options_.max_attempts) {
    return Unavailable(cause.message() + " (gave up after " +
                       std::to_string(options_.max_attempts) + " attempts)");
  }
  std::chrono::milliseconds delay =
      BackoffDelay(failures_in_a_row_, options_.initial_backoff, options_.max_backoff);
  spdlog::warn("HTTP transfer retries in {} ms (attempt {} of {}): {}", delay.count(),
               failures_in_a_row_ + 1, options_.max_attempts, cause.message());
  if (options_.on_retry) options_.on_retry(cause);

  if (!SleepUnlessStopped(delay, stop_)) return Cancelled();
  return Status::Ok();
}

}  // namespace vdisk::transport
